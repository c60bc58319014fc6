"""The application layer (VT-17): every use case a face offers, as one call, and what faces show.

The terminal app (``tui/``, ``screens/``), the CLI (``vectortrainer.cli``) and the web page
(``vectortrainer.web``) reach the engine through this package alone, apart from
``errors``, ``config`` and ``display``; an import-linter contract in ``pyproject.toml``
says so. A face builds a :class:`Workspace` over its config and calls it:

- ``core``: :class:`Workspace`: the store, opened once the way the whole config says
  (density backend included), and the groups below;
- ``golden``: select and export golden data;
- ``feedback``: record, edit, delete and list corrections;
- ``rules``: learn rules from the feedback, settle conflicts, replay, publish a hook;
- ``runs``: what a run would train, start / resume / cancel, list runs;
- ``loop``: the continuous loop's cycles and how it stands;
- ``history``: hook versions and trained models, compared and rolled back;
- ``service``: what is in service for a function.

The read models the faces lay out live here too: ``run_views`` (a run's stages, log
lines, learning curve), ``hook_views`` (hook versions with checksums), ``budget_view``
(the budget confirmation), ``vector_map`` + ``projection`` (the vector map),
``provider_view`` (the providers table) and ``service`` (what is in service).
The approval policy is :mod:`vectortrainer.budget.approval`, handed out by ``runs``.

Names resolve lazily (PEP 562), so importing this package loads nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "Workspace": "vectortrainer.workspace.core",
    "Candidate": "vectortrainer.workspace.golden",
    "SelectionView": "vectortrainer.workspace.golden",
    "RunPlan": "vectortrainer.workspace.runs",
    # No config file and no key: the demo trains SmolLM2 locally (what `make run` opens).
    "offline_defaults": "vectortrainer.demo.offline",
    # Before anything imports transformers / huggingface_hub / tqdm: they read it once.
    "quiet_environment": "vectortrainer.store.environment",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from vectortrainer.demo.offline import offline_defaults as offline_defaults
    from vectortrainer.store.environment import quiet_environment as quiet_environment
    from vectortrainer.workspace.core import Workspace as Workspace
    from vectortrainer.workspace.golden import Candidate as Candidate
    from vectortrainer.workspace.golden import SelectionView as SelectionView
    from vectortrainer.workspace.runs import RunPlan as RunPlan


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vectortrainer.workspace' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
