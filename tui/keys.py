"""Remapping keys from the config: ``keys: {binding id: keys}``, checked against the ids the app
declares.

Pure: the app hands in its binding ids (``tui.app.binding_ids``), so this module
imports neither the app nor its screens.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from vectortrainer.errors import ConfigError


def check_keymap(
    keys: Mapping[str, str], binding_ids: Iterable[str], source: str = "config"
) -> dict[str, str]:
    """``keys`` if every id is one of ``binding_ids``; otherwise one error naming the id and the
    fix."""
    known = sorted(set(binding_ids))
    for binding_id, key in keys.items():
        if binding_id not in known:
            close = difflib.get_close_matches(binding_id, known, n=1)
            hint = (
                f" (did you mean '{close[0]}'?)" if close else f" (binding ids: {', '.join(known)})"
            )
            raise ConfigError(f"{source}: keys.{binding_id}: no such binding{hint}")
        if not str(key).strip():
            raise ConfigError(
                f"{source}: keys.{binding_id}: give one or more keys, e.g. 'f8' or 'ctrl+g'"
            )
    return dict(keys)
