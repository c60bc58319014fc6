"""A trained model kept in the model registry, and promoted only when the evaluation gate passed it.

A run registers its model once: a resumed run finds the entry it made before and does not
judge the model again. With the gate on (``gate`` in the config), the held-out cases are
replayed through the candidate and the incumbent (the promoted model of the same
provider, else the base model; see :mod:`vectortrainer.gate.model_gate`), the decision is
written (``gate.json``) before the entry, and the model is promoted only when it passed.
With the gate off it is promoted without evaluation, and the entry says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vectortrainer.config import GateConfig
from vectortrainer.feedback.semantic import SemanticScorer
from vectortrainer.gate.holdout import HeldOutCase
from vectortrainer.gate.model_gate import (
    GateSettings,
    ModelGateDecision,
    Progress,
    evaluate_candidate,
)
from vectortrainer.json_types import JSONObject
from vectortrainer.registry.models import ModelEntry, ModelRegistry
from vectortrainer.runs.directory import write_json_atomic
from vectortrainer.training.base import BaseTrainer

GATE_OFF = "gate off (gate.enabled: false): promoted without evaluation"


@dataclass(frozen=True)
class Promotion:
    """What became of a trained model: its version in the registry, whether it is promoted, why."""

    model: str
    version_id: str
    promoted: bool
    reason: str
    decision: ModelGateDecision | None = None  # the gate's, when it judged the model just now
    earlier: bool = False  # registered by an earlier attempt of the run, not judged again

    @property
    def news(self) -> str:
        """The run's log line of it (``""`` with the gate off: the registry entry says why)."""
        if self.earlier:
            return f"{self.model} was registered as {self.version_id} before the interruption"
        if self.decision is None:
            return ""
        verdict = "promoted" if self.promoted else "not promoted"
        return f"{self.model} -> {self.version_id}: {verdict} ({self.reason})"

    @property
    def level(self) -> str:
        return "warning" if self.decision is not None and not self.promoted else "info"

    def detail(self) -> JSONObject:
        """What the evaluate stage records in ``run.json``."""
        detail: JSONObject = {
            "promoted": self.promoted,
            "model_version": self.version_id,
            "reason": self.reason,
            "note": f"{self.version_id} {'promoted' if self.promoted else 'kept, not promoted'}",
        }
        if self.decision is not None:
            detail.update(
                candidate_score=self.decision.candidate_score,
                incumbent_score=self.decision.incumbent_score,
                incumbent=self.decision.incumbent_label,
                inference=self.decision.inference,
                outcome=self.decision.outcome,
                gain=self.decision.gain_figures(),
            )
        return detail


def gate_settings(gate: GateConfig) -> GateSettings | None:
    """The thresholds of the evaluation gate (``None``: the gate is off)."""
    if not gate.enabled:
        return None
    return GateSettings(margin=gate.margin, tolerance=gate.tolerance, semantic=gate.semantic,
                        max_reply_tokens=gate.max_reply_tokens,
                        min_slice_cases=gate.min_slice_cases, confidence=gate.confidence,
                        min_cases=gate.min_cases)


def judge_and_keep(
    registry: ModelRegistry,
    trainer: BaseTrainer,
    *,
    model: str,
    run_id: str,
    data_sha256: str,
    cases: Sequence[HeldOutCase],
    settings: GateSettings | None,
    scorer: Callable[[], SemanticScorer],
    decision_path: Path,
    progress: Progress | None = None,
) -> Promotion:
    """Register ``model`` (trained by run ``run_id`` on data of ``data_sha256``) once, promoted when
    the gate passed it (see the module docstring); ``scorer`` is asked only when the gate scores
    meaning."""
    entry = registry.find_run(run_id)
    if entry is not None:
        passed, reason = bool(entry.passed_gate and entry.promoted), entry.gate.get("reason")
        return Promotion(model, entry.version_id, passed, str(reason or ""), earlier=True)

    def keep(passed: bool, reason: str, evaluation: JSONObject | None = None,
             outcome: str | None = None) -> ModelEntry:
        return registry.register(
            provider=trainer.name,
            model=model,
            base_model=trainer.base_model,
            run_id=run_id,
            data_sha256=data_sha256,
            evaluation=evaluation,
            gate={"passed": passed, "reason": reason,
                  **({"outcome": outcome} if outcome else {})},
            promote=passed,
            note=f"run {run_id}",
        )

    if settings is None:
        return Promotion(model, keep(True, GATE_OFF).version_id, True, GATE_OFF)
    promoted = registry.promoted()
    incumbent, incumbent_version = trainer.base_model or "", None
    if promoted is not None and promoted.provider == trainer.name:
        incumbent, incumbent_version = promoted.model, promoted.version_id
    decision = evaluate_candidate(
        trainer,
        cases,
        candidate=model,
        incumbent=incumbent,
        incumbent_version=incumbent_version,
        settings=settings,
        scorer=scorer() if settings.semantic and cases else None,
        progress=progress,
    )
    write_json_atomic(decision_path, decision.to_dict())
    entry = keep(decision.passed, decision.reason, decision.figures(), decision.outcome)
    return Promotion(model, entry.version_id, decision.passed, decision.reason, decision)
