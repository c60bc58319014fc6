"""Remapping keys from the config: `keys: {binding id: keys}` checked against the app's binding ids."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Mapping

from vectortrainer.errors import ConfigError

SCREEN_MODULES = ("budget", "confirm", "dataset", "feedback", "help", "hooks", "rules", "training")


def binding_ids() -> set[str]:
    """Every binding id the app and its screens declare (what `keys:` may remap)."""
    from textual.binding import Binding

    from tui.app import VectorTrainerApp

    holders: list[type] = [VectorTrainerApp]
    for name in SCREEN_MODULES:
        module = importlib.import_module(f"screens.{name}")
        holders += [v for v in vars(module).values() if isinstance(v, type) and hasattr(v, "BINDINGS")]
    return {b.id for holder in holders for b in holder.BINDINGS if isinstance(b, Binding) and b.id}


def checked_keymap(keys: Mapping[str, str], source: str = "config") -> dict[str, str]:
    """``keys`` if every id is a real binding id; otherwise one error naming the id and the fix."""
    known = binding_ids()
    for binding_id, key in keys.items():
        if binding_id not in known:
            close = difflib.get_close_matches(binding_id, sorted(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (binding ids: {', '.join(sorted(known))})"
            raise ConfigError(f"{source}: keys.{binding_id}: no such binding{hint}")
        if not str(key).strip():
            raise ConfigError(f"{source}: keys.{binding_id}: give one or more keys, e.g. 'f8' or 'ctrl+g'")
    return dict(keys)
