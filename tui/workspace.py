"""The terminal app's doorway to the engine: the application layer and the views it lays out.

The app builds one :class:`~vectortrainer.workspace.Workspace` over its config and hands
it to every screen; each screen calls its use cases from a worker thread (they block)
and lays out what comes back. The engine's types a screen names come from
:mod:`vectortrainer.workspace.types`; ``pyproject.toml``'s import contracts hold both.
Nothing here is heavier than the engine's light modules: the app paints at once.
"""

from __future__ import annotations

from vectortrainer.workspace import Candidate, SelectionView, Workspace
from vectortrainer.workspace.budget_view import BudgetView, budget_view
from vectortrainer.workspace.hook_views import HookVersionRow
from vectortrainer.workspace.service import ModelRow, ServiceView

__all__ = [
    "BudgetView",
    "Candidate",
    "HookVersionRow",
    "ModelRow",
    "SelectionView",
    "ServiceView",
    "Workspace",
    "budget_view",
]
