"""The terminal app's doorway to the engine: the application layer and the types its screens show.

The app builds one :class:`~vectortrainer.workspace.Workspace` over its config and hands
it to every screen; each screen calls its use cases from a worker thread (they block)
and lays out what comes back. The screens take the types they show from here, so what
the app sees of the engine is this list; ``pyproject.toml``'s import contracts hold it.
Nothing here is heavier than the engine's light modules: the app paints at once.
"""

from __future__ import annotations

from vectortrainer.workspace import Candidate, SelectionView, Workspace
from vectortrainer.workspace.budget_view import BudgetView, budget_view
from vectortrainer.workspace.hook_views import HookVersionRow
from vectortrainer.workspace.service import ModelRow, ServiceView
from vectortrainer.workspace.types import (
    STAGES,
    BaseTrainer,
    Conflict,
    DiffSegment,
    Estimate,
    FeedbackEntry,
    FeedbackPair,
    FunctionLogs,
    FunctionSummary,
    GenerationReport,
    LogReader,
    LogRecord,
    PipelineMonitor,
    ReplayReport,
    Rule,
    RuleSet,
    RunInfo,
    RunOutcome,
    RunSummary,
    StageStatus,
    train_loss,
)

__all__ = [
    "STAGES",
    "BaseTrainer",
    "BudgetView",
    "Candidate",
    "Conflict",
    "DiffSegment",
    "Estimate",
    "FeedbackEntry",
    "FeedbackPair",
    "FunctionLogs",
    "FunctionSummary",
    "GenerationReport",
    "HookVersionRow",
    "LogReader",
    "LogRecord",
    "ModelRow",
    "PipelineMonitor",
    "ReplayReport",
    "Rule",
    "RuleSet",
    "RunInfo",
    "RunOutcome",
    "RunSummary",
    "SelectionView",
    "ServiceView",
    "StageStatus",
    "Workspace",
    "budget_view",
    "train_loss",
]
