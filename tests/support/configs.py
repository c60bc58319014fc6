"""Configs for tests: a config is frozen, so a test sets values by making a new one."""

from __future__ import annotations

import dataclasses

from vectortrainer.config import Config


def configured(config: Config, **dotted: object) -> Config:
    """``config`` with ``{"section.key": value}`` set and checked like the file's values.

    Unlike ``with_overrides`` (where ``None`` is a flag not given), ``None`` sets the value to
    null, as ``max_budget_usd: null`` in a file would.
    """
    config = config.with_overrides("test", **{k: v for k, v in dotted.items() if v is not None})
    for key in (k for k, v in dotted.items() if v is None):
        section, name = key.split(".")
        cleared = dataclasses.replace(getattr(config, section), **{name: None})
        config = dataclasses.replace(config, **{section: cleared})
    return config
