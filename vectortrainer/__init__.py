"""VectorTrainer: the engine of a self-evolving loop for LLM-backed Python functions.

The engine reads VectorWave execution logs, selects golden data, turns feedback
into versioned hook scripts, guards the budget and fine-tunes. It never imports a
UI toolkit: the Textual app (``tui/``, ``screens/``), ``--batch`` and the Streamlit
companion are faces over it.

The public API is the names in ``__all__``, imported from here::

    from vectortrainer import select_golden, synthesize_rules, TrainingPipeline

They resolve lazily (PEP 562), so ``import vectortrainer`` loads nothing heavy;
the modules behind them are free to move.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "epsilon_density": "vectortrainer.golden.density",
    "select_golden": "vectortrainer.golden.selection",
    "SelectionSettings": "vectortrainer.settings",
    "DensityBasedExtractor": "vectortrainer.golden.extractor",
    "FeedbackPair": "vectortrainer.feedback.pair",
    "FeedbackStore": "vectortrainer.feedback.store",
    "LoggedOutput": "vectortrainer.feedback.from_logs",
    "uncorrected_outputs": "vectortrainer.feedback.from_logs",
    "Rule": "vectortrainer.rules.model",
    "Evidence": "vectortrainer.rules.model",
    "RuleSet": "vectortrainer.rules.synthesis",
    "synthesize_rules": "vectortrainer.rules.synthesis",
    "HookScriptGenerator": "vectortrainer.hooks.generator",
    "HookVersionManager": "vectortrainer.hooks.versions",
    "count_tokens_in_jsonl": "vectortrainer.budget.tokens",
    "estimate_training_cost": "vectortrainer.budget.estimates",
    "check_budget": "vectortrainer.budget.guards",
    "MODEL_TRAINING_PRICES": "vectortrainer.budget.pricing",
    "BudgetExceededError": "vectortrainer.errors",
    "VectorTrainerError": "vectortrainer.errors",
    "BaseTrainer": "vectortrainer.training.base",
    "OpenAITrainer": "vectortrainer.training.openai",
    "AzureOpenAITrainer": "vectortrainer.training.azure",
    "TogetherTrainer": "vectortrainer.training.together",
    "FireworksTrainer": "vectortrainer.training.fireworks",
    "make_trainer": "vectortrainer.training.factory",
    "PROVIDERS": "vectortrainer.budget.catalog",
    "FineTuningClosedError": "vectortrainer.errors",
    "HyperparameterError": "vectortrainer.errors",
    "LocalTrainer": "vectortrainer.training.local.trainer",
    "TrainingPipeline": "vectortrainer.pipeline",
    "ModelRegistry": "vectortrainer.registry.models",
    "run_cycle": "vectortrainer.loop",
    "with_hook": "vectortrainer.runtime",
    "promoted_model": "vectortrainer.runtime",
    "PipelineMonitor": "vectortrainer.runs.monitor",
    "Config": "vectortrainer.config",
    "load_config": "vectortrainer.config",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vectortrainer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:  # for type checkers and IDEs; never executed
    from vectortrainer.budget.catalog import PROVIDERS as PROVIDERS
    from vectortrainer.budget.estimates import estimate_training_cost as estimate_training_cost
    from vectortrainer.budget.guards import check_budget as check_budget
    from vectortrainer.budget.pricing import MODEL_TRAINING_PRICES as MODEL_TRAINING_PRICES
    from vectortrainer.budget.tokens import count_tokens_in_jsonl as count_tokens_in_jsonl
    from vectortrainer.config import Config as Config
    from vectortrainer.config import load_config as load_config
    from vectortrainer.errors import BudgetExceededError as BudgetExceededError
    from vectortrainer.errors import FineTuningClosedError as FineTuningClosedError
    from vectortrainer.errors import HyperparameterError as HyperparameterError
    from vectortrainer.errors import VectorTrainerError as VectorTrainerError
    from vectortrainer.feedback.from_logs import LoggedOutput as LoggedOutput
    from vectortrainer.feedback.from_logs import uncorrected_outputs as uncorrected_outputs
    from vectortrainer.feedback.pair import FeedbackPair as FeedbackPair
    from vectortrainer.feedback.store import FeedbackStore as FeedbackStore
    from vectortrainer.golden.density import epsilon_density as epsilon_density
    from vectortrainer.golden.extractor import DensityBasedExtractor as DensityBasedExtractor
    from vectortrainer.golden.selection import select_golden as select_golden
    from vectortrainer.hooks.generator import HookScriptGenerator as HookScriptGenerator
    from vectortrainer.hooks.versions import HookVersionManager as HookVersionManager
    from vectortrainer.loop import run_cycle as run_cycle
    from vectortrainer.pipeline import TrainingPipeline as TrainingPipeline
    from vectortrainer.registry.models import ModelRegistry as ModelRegistry
    from vectortrainer.rules.model import Evidence as Evidence
    from vectortrainer.rules.model import Rule as Rule
    from vectortrainer.rules.synthesis import RuleSet as RuleSet
    from vectortrainer.rules.synthesis import synthesize_rules as synthesize_rules
    from vectortrainer.runs.monitor import PipelineMonitor as PipelineMonitor
    from vectortrainer.runtime import promoted_model as promoted_model
    from vectortrainer.runtime import with_hook as with_hook
    from vectortrainer.settings import SelectionSettings as SelectionSettings
    from vectortrainer.training.azure import AzureOpenAITrainer as AzureOpenAITrainer
    from vectortrainer.training.base import BaseTrainer as BaseTrainer
    from vectortrainer.training.factory import make_trainer as make_trainer
    from vectortrainer.training.fireworks import FireworksTrainer as FireworksTrainer
    from vectortrainer.training.local.trainer import LocalTrainer as LocalTrainer
    from vectortrainer.training.openai import OpenAITrainer as OpenAITrainer
    from vectortrainer.training.together import TogetherTrainer as TogetherTrainer
