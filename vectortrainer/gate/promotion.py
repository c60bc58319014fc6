"""A trained model kept in the model registry, and promoted only when the evaluation gate passed it.

A run registers its model once: a resumed run finds the entry it made before and does not
judge the model again. With the gate on (``gate`` in the config), the held-out cases are
replayed through the candidate and the incumbent (the promoted model of the same
provider, else the base model; see :mod:`vectortrainer.gate.model_gate`), the decision is
written (``gate.json``) before the entry, and the model is promoted only when it passed.
With the gate off it is promoted without evaluation, and the entry says so.

A model whose base model is past its shutdown is never promoted, whatever the gate would say
(it could not answer): the date is the one its provider's API reported when it is known
(recorded in the entry as ``base_shutdown``), else the catalogue's, with the config's
``schedule:`` over both. :func:`entry_refusal` applies the same rule to a person's promotion
or rollback (the registry the application layer opens asks it). A local model never shuts down.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vectortrainer.budget.catalog import base_model_name
from vectortrainer.budget.schedule import ReportedShutdown, ScheduleOverrides, past_shutdown
from vectortrainer.budget.serving import SERVERLESS
from vectortrainer.config import GateConfig
from vectortrainer.errors import UnknownModelError
from vectortrainer.feedback.semantic import SemanticScorer
from vectortrainer.gate.holdout import HeldOutCase
from vectortrainer.gate.model_gate import (
    ActiveHook,
    GateSettings,
    ModelGateDecision,
    Progress,
    evaluate_candidate,
    unserved,
)
from vectortrainer.gate.serving import (
    DeploymentNotReady,
    GateServing,
    SaveDeployment,
    close_deployment,
    open_deployment,
)
from vectortrainer.json_types import JSONObject
from vectortrainer.registry.canary import uses_canary
from vectortrainer.registry.models import ModelEntry, ModelRegistry
from vectortrainer.runs.directory import write_json_atomic
from vectortrainer.training.base import BaseTrainer
from vectortrainer.training.deployments import TORN_DOWN, Deployment

GATE_OFF = "gate off (gate.enabled: false): promoted without evaluation"
SHUT_DOWN = "base_shut_down"  # the gate's outcome for a model whose base model shut down


@dataclass(frozen=True)
class Promotion:
    """What became of a trained model: its version in the registry, whether it is promoted, why."""

    model: str
    version_id: str
    promoted: bool
    reason: str
    decision: ModelGateDecision | None = None  # the gate's, when it judged the model just now
    earlier: bool = False  # registered by an earlier attempt of the run, not judged again
    outcome: str = ""  # SHUT_DOWN when refused without a gate (the decision's outcome otherwise)
    serving: GateServing | None = None  # the candidate's deployment for the gate, if it had one
    canary_share: float = 0.0  # above 0: it passed and serves this share of calls in canary
    # earlier models whose deployments still bill by the hour (kept for a rollback), in words
    still_hosted: tuple[str, ...] = ()

    @property
    def news(self) -> str:
        """The run's log line of it (``""`` with the gate off: the registry entry says why)."""
        if self.earlier:
            return f"{self.model} was registered as {self.version_id} before the interruption"
        if self.decision is None and self.promoted:
            return ""
        verdict = (
            f"in canary at {self.canary_share:.0%} of calls (the loop promotes it fully or rolls "
            "it back from production signals)" if self.canary_share
            else "promoted" if self.promoted else "not promoted"
        )
        hosted = (f"; still deployed for a rollback: {', '.join(self.still_hosted)} "
                  "(`vectortrainer models undeploy MODEL` tears one down)"
                  if self.still_hosted else "")
        return f"{self.model} -> {self.version_id}: {verdict} ({self.reason}){hosted}"

    @property
    def level(self) -> str:
        judged_worse = not self.promoted and not self.earlier and not self.canary_share
        return "warning" if judged_worse else "info"

    def detail(self) -> JSONObject:
        """What the evaluate stage records in ``run.json``."""
        detail: JSONObject = {
            "promoted": self.promoted,
            "model_version": self.version_id,
            "reason": self.reason,
            "note": f"{self.version_id} {'promoted' if self.promoted else 'kept, not promoted'}",
        }
        if self.outcome:
            detail["outcome"] = self.outcome
        if self.canary_share:
            detail.update(canary=self.canary_share,
                          note=f"{self.version_id} in canary at {self.canary_share:.0%} of calls")
        if self.decision is not None:
            detail.update(
                candidate_score=self.decision.candidate_score,
                incumbent_score=self.decision.incumbent_score,
                incumbent=self.decision.incumbent_label,
                inference=self.decision.inference,
                outcome=self.decision.outcome,
                gain=self.decision.gain_figures(),
            )
        if self.serving is not None and self.serving.deployment is not None:
            detail["serving"] = self.serving.to_dict()
        return detail


def _still_hosted(registry: ModelRegistry, promoted: str) -> tuple[str, ...]:
    """The earlier models of ``registry`` whose deployments are still up, in words."""
    return tuple(
        f"{e.version_id} ({e.serving.get('id')}, ${float(e.serving.get('hourly_usd') or 0):.2f}/h)"
        for e in registry.list()
        if e.version_id != promoted and e.serving.get("id") and not e.serving.get(TORN_DOWN)
    )


def gate_settings(gate: GateConfig) -> GateSettings | None:
    """The thresholds of the evaluation gate (``None``: the gate is off)."""
    if not gate.enabled:
        return None
    return GateSettings(margin=gate.margin, tolerance=gate.tolerance, semantic=gate.semantic,
                        max_reply_tokens=gate.max_reply_tokens,
                        min_slice_cases=gate.min_slice_cases, confidence=gate.confidence,
                        min_cases=gate.min_cases)


def shutdown_refusal(provider: str, model: str, base_model: str | None, *,
                     reported: ReportedShutdown | None = None,
                     overrides: ScheduleOverrides | None = None,
                     today: _dt.date | None = None) -> str:
    """Why ``model`` (trained on ``provider`` from ``base_model``) may not be promoted: its base
    model is past its shutdown; ``""`` while it serves."""
    try:
        base = base_model or base_model_name(model)
    except UnknownModelError:  # a name no base can be read from: no date to hold it to
        return ""
    shutdown = past_shutdown(provider, base, today=today, overrides=overrides, reported=reported)
    if shutdown is None:
        return ""
    return (f"its base model {base} shut down on {shutdown[0].isoformat()} (source: "
            f"{shutdown[1]}), so it no longer answers; train on a current model "
            "(`vectortrainer providers` lists them)")


def recorded_shutdown(entry: ModelEntry) -> ReportedShutdown | None:
    """The base model's shutdown date its provider reported when ``entry`` was trained, if any."""
    on, source = entry.base_shutdown.get("on"), entry.base_shutdown.get("source")
    if not isinstance(on, str):
        return None
    try:
        day = _dt.date.fromisoformat(on)
    except ValueError:
        return None
    return ReportedShutdown(entry.base_model or entry.model, day,
                            f"{source or 'its provider'}, recorded with {entry.version_id}")


def entry_refusal(entry: ModelEntry, *, overrides: ScheduleOverrides | None = None,
                  today: _dt.date | None = None) -> str:
    """Why a person may not promote (or roll back to) ``entry``: :func:`shutdown_refusal`, or the
    deployment that served it was torn down (production would call a deployment that is gone)."""
    if entry.serving.get(TORN_DOWN):
        return (f"its deployment {entry.serving.get('id')} was torn down, so it no longer "
                "answers; deploy it again at the provider, or train again")
    return shutdown_refusal(entry.provider, entry.model, entry.base_model,
                            reported=recorded_shutdown(entry), overrides=overrides, today=today)


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
    schedule: ScheduleOverrides | None = None,
    today: _dt.date | None = None,
    saved_deployment: Deployment | None = None,
    save_deployment: SaveDeployment = lambda deployment: None,
    hook: ActiveHook | None = None,
    canary_share: float = 0.0,
) -> Promotion:
    """Register ``model`` (trained by run ``run_id`` on data of ``data_sha256``) once, promoted when
    the gate passed it and its base model still serves (see the module docstring); ``scorer`` is
    asked only when the gate scores meaning. ``saved_deployment`` is the gate's deployment an
    earlier attempt of the run saved (``save_deployment`` keeps it in the run's state); ``hook``
    is the function's live hook, applied to both models' replies as production applies it. With
    ``canary_share`` and a model in service, a model that passed goes into canary at that share
    instead of being promoted at once (the loop promotes it fully or rolls it back)."""
    entry = registry.find_run(run_id)
    if entry is not None:
        if saved_deployment is not None and entry.serving.get("id") != saved_deployment.id:
            # judged before the interruption but not torn down yet: it bills for nothing
            trainer.tear_down(saved_deployment)
            save_deployment(None)
        passed, reason = bool(entry.passed_gate and entry.promoted), entry.gate.get("reason")
        return Promotion(model, entry.version_id, passed, str(reason or ""), earlier=True)
    reported = trainer.reported_shutdown()
    base_shutdown: JSONObject = (
        {"on": reported.on.isoformat(), "source": reported.source}
        if reported is not None and reported.on is not None else {}
    )

    def keep(passed: bool, reason: str, evaluation: JSONObject | None = None,
             outcome: str | None = None, serving: JSONObject | None = None) -> Promotion:
        """Register the model: promoted when ``passed``, or into canary beside the model in
        service when ``canary_share`` asks for one."""
        canary = passed and uses_canary(canary_share, registry.promoted())
        entry = registry.register(
            provider=trainer.name,
            model=model,
            base_model=trainer.base_model,
            run_id=run_id,
            data_sha256=data_sha256,
            evaluation=evaluation,
            gate={"passed": passed, "reason": reason,
                  **({"outcome": outcome} if outcome else {})},
            promote=passed and not canary,
            note=f"run {run_id}",
            base_shutdown=base_shutdown,
            serving=serving,
        )
        if canary:
            registry.start_canary(entry.version_id, canary_share)
        promoted_now = passed and not canary
        return Promotion(model, entry.version_id, promoted_now, reason, outcome=outcome or "",
                         canary_share=canary_share if canary else 0.0,
                         still_hosted=_still_hosted(registry, entry.version_id)
                         if promoted_now else ())

    # Before the gate: a model whose base shut down cannot answer its cases, nor serve.
    refusal = shutdown_refusal(trainer.name, model, trainer.base_model, reported=reported,
                               overrides=schedule, today=today)
    if refusal:
        return keep(False, refusal, outcome=SHUT_DOWN)
    if settings is None:
        return keep(True, GATE_OFF)
    promoted = registry.promoted()
    incumbent, incumbent_version = trainer.base_model or "", None
    incumbent_served = trainer.base_served_as() or incumbent
    if promoted is not None and promoted.provider == trainer.name:
        incumbent, incumbent_version = promoted.model, promoted.version_id
        incumbent_served = promoted.served_as
    serving: GateServing | None = None
    try:
        # No case to ask, nothing to deploy: the budget held no hosting for it (and the decision
        # is "not enough evidence" whatever the model says).
        served = (open_deployment(trainer, model, run_id=run_id, saved=saved_deployment,
                                  save=save_deployment, progress=progress) if cases
                  else GateServing(served_as=model, hosting=SERVERLESS))
    except DeploymentNotReady as exc:
        decision = unserved(cases, candidate=model, incumbent=incumbent,
                            incumbent_version=incumbent_version, settings=settings,
                            reason=str(exc))
    else:
        serving = served
        try:
            decision = evaluate_candidate(
                trainer,
                cases,
                candidate=model,
                incumbent=incumbent,
                incumbent_version=incumbent_version,
                settings=settings,
                scorer=scorer() if settings.semantic and cases else None,
                progress=progress,
                served_as={"candidate": served.served_as, "incumbent": incumbent_served},
                hook=hook,
            )
        except BaseException:
            close_deployment(trainer, served, keep=False, save=save_deployment)  # stops billing
            raise
        close_deployment(trainer, served, keep=decision.passed, save=save_deployment)
        decision.serving = served.to_dict()
    write_json_atomic(decision_path, decision.to_dict())
    kept = serving.deployment if serving is not None and serving.kept else None
    kept_as = keep(decision.passed, decision.reason, decision.figures(), decision.outcome,
                   serving={**kept.to_dict(), "served_as": kept.served_as} if kept else None)
    return dataclasses.replace(kept_as, decision=decision, serving=serving, outcome="")
