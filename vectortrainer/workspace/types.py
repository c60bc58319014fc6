"""The engine's types the faces see, in one list: what a use case returns or what a face implements.

A face takes these names from here, never from the module that defines them, so the
faces' view of the engine is this list (and the ``workspace`` use cases) alone.
"""

from __future__ import annotations

from vectortrainer.budget.approval import Approval, ApprovalPolicy
from vectortrainer.budget.estimates import Estimate
from vectortrainer.feedback.diffing import DiffSegment
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackEntry, FeedbackRead
from vectortrainer.gate.hook_gate import HookGateOutcome
from vectortrainer.golden.extractor import ExtractionReport
from vectortrainer.hooks.generator import GenerationReport
from vectortrainer.hooks.rule_diff import (
    ChangedRule,
    FieldChange,
    RuleDiff,
    RuleEntry,
    SupportingPair,
)
from vectortrainer.hooks.versions import HookVersion, HookVersionManager
from vectortrainer.loop import CycleOutcome
from vectortrainer.pipeline import ConfirmCallback, RunOutcome
from vectortrainer.registry.canary import CanaryRecord
from vectortrainer.registry.models import ModelEntry, ModelRegistry
from vectortrainer.registry.routing import CanaryRoute
from vectortrainer.rules.conflicts import Conflict
from vectortrainer.rules.learning import Choice, LearnedRules
from vectortrainer.rules.model import Rule
from vectortrainer.rules.replay import ReplayReport
from vectortrainer.rules.synthesis import RuleSet
from vectortrainer.runs.directory import RunInfo
from vectortrainer.runs.metrics import train_loss
from vectortrainer.runs.monitor import PipelineMonitor
from vectortrainer.runs.status import STAGES, RunStatus, StageStatus
from vectortrainer.runs.summary import RunSummary
from vectortrainer.settings import AUTO, SelectionSettings
from vectortrainer.store.records import FunctionLogs, FunctionSummary, LogRecord
from vectortrainer.store.source import LogReader
from vectortrainer.training.base import BaseTrainer

__all__ = [
    "AUTO",
    "STAGES",
    "Approval",
    "ApprovalPolicy",
    "BaseTrainer",
    "CanaryRecord",
    "CanaryRoute",
    "ChangedRule",
    "Choice",
    "Conflict",
    "ConfirmCallback",
    "CycleOutcome",
    "DiffSegment",
    "Estimate",
    "ExtractionReport",
    "FeedbackEntry",
    "FeedbackPair",
    "FeedbackRead",
    "FieldChange",
    "FunctionLogs",
    "FunctionSummary",
    "GenerationReport",
    "HookGateOutcome",
    "HookVersion",
    "HookVersionManager",
    "LearnedRules",
    "LogReader",
    "LogRecord",
    "ModelEntry",
    "ModelRegistry",
    "PipelineMonitor",
    "ReplayReport",
    "Rule",
    "RuleDiff",
    "RuleEntry",
    "RuleSet",
    "RunInfo",
    "RunOutcome",
    "RunStatus",
    "RunSummary",
    "SelectionSettings",
    "StageStatus",
    "SupportingPair",
    "train_loss",
]
