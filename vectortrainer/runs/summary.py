"""A run's summary (FR-4.4) as one typed value: golden data, rules, cost, training, the gates, and
the rows faces show.

``summary.json`` holds :meth:`RunSummary.to_dict`; every face reads it back with
:meth:`RunSummary.from_dict` (unknown keys ignored, missing ones empty) and shows
:meth:`RunSummary.rows`, so the TUI, ``--batch`` and the web page say the same thing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from vectortrainer.budget.catalog import PROVIDERS
from vectortrainer.display import format_gain, format_slice_scores, format_usd
from vectortrainer.json_types import JSONObject, JSONValue
from vectortrainer.runs.directory import GATE_FILE, RunDirectory
from vectortrainer.runs.events import read_events
from vectortrainer.runs.metrics import final_loss
from vectortrainer.runs.status import STAGES

T = TypeVar("T")


def _from_mapping(cls: type[T], data: Any) -> T:
    """``cls`` from the keys of ``data`` it knows (a dataclass of optional fields)."""
    if not isinstance(data, Mapping):
        return cls()
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class GoldenSummary:
    """What the extract stage picked, and from how many logs."""

    examples: int | None = None
    per_strategy: dict[str, int] = field(default_factory=dict)
    density_percentiles: dict[str, float] = field(default_factory=dict)
    clusters: int | None = None
    logs: int | None = None
    usable_logs: int | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)
    density_mode: str | None = None
    epsilon: float | None = None  # the one used
    # "auto: ..." when chosen from the data, "set: ..." when given
    epsilon_reason: str | None = None
    top_k: int | None = None
    # vectortrainer.golden.coverage.Coverage.to_dict()
    coverage: JSONObject = field(default_factory=dict)


@dataclass
class RulesSummary:
    """What the synthesize stage learned from feedback."""

    count: int | None = None
    conflicts: int | None = None
    merged: int | None = None
    feedback_pairs: int | None = None
    inactive: int | None = None  # rules held back by their blast radius on the logs
    logs_sampled: int | None = None
    malformed_lines: int | None = None  # feedback lines skipped as malformed, and their numbers
    malformed_line_numbers: list[int] | None = None
    surrogate_lines: list[int] | None = None  # feedback lines read with U+FFFD for lone surrogates


@dataclass
class CostSummary:
    """The estimate the run was confirmed on: dollars for a vendor, minutes for a local run."""

    model: str | None = None
    estimated_usd: float | None = None
    budget_usd: float | None = None
    tokens: int | None = None
    n_epochs: int | None = None
    estimated_minutes: float | None = None
    max_minutes: float | None = None


@dataclass
class TrainingSummary:
    """How the training job ended."""

    status: str | None = None
    provider: str | None = None  # openai | azure | together | fireworks | local
    job_id: str | None = None
    fine_tuned_model: str | None = None
    final_loss: float | None = None
    trained_tokens: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None


@dataclass
class GateSummary:
    """The evaluation gate's decision on the trained model (``gate.json`` has every figure)."""

    promoted: bool | None = None
    model_version: str | None = None  # the registry entry the model was kept as
    reason: str | None = None
    candidate_score: float | None = None
    incumbent_score: float | None = None
    incumbent: str | None = None  # "promoted m001 (ft:...)" or "base model gpt-4o-mini-..."
    # slice -> cases, candidate, incumbent
    slices: dict[str, dict[str, float]] = field(default_factory=dict)
    inference_requests: int | None = None
    inference_usd: float | None = None
    outcome: str | None = None  # promote / keep / not_enough_evidence
    # the mean paired difference, its one-sided bounds at ``confidence``, over ``cases`` cases
    gain: float | None = None
    gain_low: float | None = None
    gain_high: float | None = None
    confidence: float | None = None
    cases: int | None = None
    # the live hook the replies were judged through, and the figures without it
    hook_version: str | None = None
    without_hook: dict[str, Any] = field(default_factory=dict)
    # the candidate's deployment for the gate: where, for how long, what it cost, kept or not
    serving: dict[str, Any] = field(default_factory=dict)
    canary: float | None = None  # the share of calls it serves in canary (passed, not promoted)


@dataclass
class HookGateSummary:
    """The hook gate's decision on the hook learned from this run's feedback."""

    version_id: str | None = None
    active: bool | None = None
    reason: str | None = None
    held_out: int | None = None
    mean_repair: float | None = None
    good_changed: int | None = None


@dataclass
class RunSummary:
    """Golden data, rules, cost, training and gate figures of one run (``summary.json``)."""

    run_id: str = ""
    function: str | None = None
    status: str | None = None
    golden: GoldenSummary = field(default_factory=GoldenSummary)
    rules: RulesSummary = field(default_factory=RulesSummary)
    cost: CostSummary = field(default_factory=CostSummary)
    training: TrainingSummary = field(default_factory=TrainingSummary)
    gate: GateSummary = field(default_factory=GateSummary)
    hook: HookGateSummary = field(default_factory=HookGateSummary)
    files: dict[str, str | None] = field(default_factory=dict)
    stages: dict[str, JSONObject] = field(default_factory=dict)
    run_dir: str = ""

    def to_dict(self) -> JSONObject:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> "RunSummary":
        return cls(
            run_id=str(data.get("run_id") or ""),
            function=data.get("function"),
            status=data.get("status"),
            golden=_from_mapping(GoldenSummary, data.get("golden")),
            rules=_from_mapping(RulesSummary, data.get("rules")),
            cost=_from_mapping(CostSummary, data.get("cost")),
            training=_from_mapping(TrainingSummary, data.get("training")),
            gate=_from_mapping(GateSummary, data.get("gate")),
            hook=_from_mapping(HookGateSummary, data.get("hook")),
            files=dict(data.get("files") or {}),
            stages=dict(data.get("stages") or {}),
            run_dir=str(data.get("run_dir") or ""),
        )

    def rows(self) -> list[tuple[str, str]]:
        """The headline figures as (label, value) rows, in the order every face shows them."""
        rows: list[tuple[str, str]] = []
        training, golden, rules, cost = self.training, self.golden, self.rules, self.cost
        if training.provider:
            title = (
                PROVIDERS[training.provider].title
                if training.provider in PROVIDERS
                else training.provider
            )
            rows.append(("provider", title))
        if training.status:
            rows.append(("training", str(training.status)))
        if golden.examples is not None:
            detail = ", ".join(f"{count} {name}" for name, count in golden.per_strategy.items())
            rows.append(
                ("golden examples", f"{golden.examples}" + (f" ({detail})" if detail else ""))
            )
        if golden.density_percentiles:
            rows.append(
                (
                    "density",
                    ", ".join(f"{k} {v:.3g}" for k, v in golden.density_percentiles.items()),
                )
            )
        if golden.epsilon is not None:
            how = (golden.epsilon_reason or "").split(":", 1)[0] or "set"
            rows.append(("epsilon", f"{golden.epsilon:.3g} ({how})"))
        if golden.coverage.get("clusters"):
            rows.append(("clusters covered", f"{golden.coverage.get('covered_clusters')} of "
                                             f"{golden.coverage.get('clusters')}"))
        if rules.count is not None:
            held = f", {rules.inactive} inactive" if rules.inactive else ""
            rows.append(
                (
                    "rules",
                    f"{rules.count} ({rules.conflicts or 0} "
                    f"conflicts, {rules.merged or 0} merged{held})",
                )
            )
        if cost.estimated_minutes is not None:
            limit = f" of {cost.max_minutes:g} min" if cost.max_minutes is not None else ""
            rows.append(("estimated time", f"{cost.estimated_minutes:.1f} min{limit}"))
        elif cost.estimated_usd is not None:
            budget = (
                f" of {format_usd(cost.budget_usd)}"
                if cost.budget_usd is not None
                else " (no budget)"
            )
            tokens = f" for {cost.tokens:,} tokens" if cost.tokens else ""
            rows.append(("estimated cost", f"{format_usd(cost.estimated_usd)}{budget}{tokens}"))
        if training.trained_tokens:
            rows.append(("trained tokens", f"{training.trained_tokens:,}"))
        if training.final_loss is not None:
            rows.append(("final loss", f"{training.final_loss:.4f}"))
        similarity = training.metrics.get("eval_similarity")
        if similarity is not None:
            base = training.metrics.get("base_eval_similarity")
            rows.append(
                (
                    "held-out edit similarity",
                    f"{similarity:.3f}" + (f" (base model {base:.3f})" if base is not None else ""),
                )
            )
        if training.fine_tuned_model:
            rows.append(("fine-tuned model", str(training.fine_tuned_model)))
        if training.error:
            rows.append(("training error", str(training.error)))
        rows.extend(self._gate_rows())
        return rows

    def _gate_rows(self) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        gate, hook = self.gate, self.hook
        if gate.promoted is not None:
            verdict = (
                f"promoted as {gate.model_version}"
                if gate.promoted
                else f"in canary as {gate.model_version} at {gate.canary:.0%} of calls"
                if gate.canary
                else f"not promoted (kept as {gate.model_version})"
            )
            rows.append(("evaluation gate", f"{verdict}: {gate.reason}"))
        if gate.candidate_score is not None:
            rows.append(
                (
                    "held-out score",
                    f"{gate.candidate_score:.3f} vs {gate.incumbent_score:.3f} ({gate.incumbent})",
                )
            )
        if (gate.gain is not None and gate.gain_low is not None and gate.gain_high is not None
                and gate.confidence is not None):
            rows.append(("paired gain", format_gain(gate.gain, gate.gain_low, gate.gain_high,
                                                    gate.confidence, gate.cases or 0)))
        if gate.slices:
            rows.append(("per slice", format_slice_scores(gate.slices)))
        if gate.hook_version and gate.without_hook.get("candidate_score") is not None:
            rows.append(("through the hook", (
                f"judged with hook {gate.hook_version} applied to both models' replies, as "
                f"production runs; without it: {gate.without_hook['candidate_score']:.3f} vs "
                f"{gate.without_hook['incumbent_score']:.3f}, "
                f"{gate.without_hook.get('outcome') or 'not judged'}")))
        if gate.serving.get("deployed"):
            fate = "kept (serves production)" if gate.serving.get("kept") else "torn down"
            rows.append(("gate deployment", (
                f"{gate.serving.get('deployment')} ({gate.serving.get('what')}): "
                f"{float(gate.serving.get('hosted_s') or 0) / 60:.1f} min, "
                f"{format_usd(float(gate.serving.get('hosting_usd') or 0))}; {fate}")))
        if gate.inference_requests:
            cost = f", {format_usd(gate.inference_usd)}" if gate.inference_usd is not None else ""
            rows.append(("gate inference", f"{gate.inference_requests} replies{cost}"))
        if hook.active is not None:
            state = "active" if hook.active else "kept inactive"
            rows.append(("hook", f"{hook.version_id or 'unchanged'} {state}: {hook.reason}"))
        return rows


def build_summary(run: RunDirectory) -> RunSummary:
    """FR-4.4: golden data, rules, cost and training figures of a run, from its directory."""
    state = run.state
    stages = state.stages
    estimate = run.read_json(run.estimate_path.name) if run.estimate_path.exists() else {}
    monitor = stages["monitor"].detail
    metrics = monitor.get("metrics") or {}
    loss = final_loss(metrics)
    if loss is None:
        loss = _last_reported_loss(run)
    return RunSummary(
        run_id=state.run_id,
        function=state.function,
        status=monitor.get("status"),
        golden=_from_mapping(GoldenSummary, stages["extract"].detail.get("golden")),
        rules=_from_mapping(RulesSummary, stages["synthesize"].detail.get("rules")),
        cost=CostSummary(
            model=estimate.get("model"),
            estimated_usd=estimate.get("estimated_usd"),
            budget_usd=estimate.get("budget_usd"),
            tokens=estimate.get("billed_tokens", estimate.get("total_tokens")),
            n_epochs=estimate.get("n_epochs"),
            estimated_minutes=estimate.get("estimated_minutes"),
            max_minutes=estimate.get("max_minutes"),
        ),
        training=TrainingSummary(
            status=monitor.get("status"),
            provider=_provider(estimate),
            job_id=state.job_id,
            fine_tuned_model=monitor.get("fine_tuned_model"),
            final_loss=loss,
            trained_tokens=monitor.get("trained_tokens"),
            metrics=dict(metrics),
            error=monitor.get("error"),
        ),
        gate=_gate_summary(run, stages["evaluate"].detail),
        hook=_hook_summary(stages["hook"].detail),
        files={
            "train_file_id": state.train_file_id,
            "validation_file_id": state.validation_file_id,
        },
        stages={
            name: {"status": str(stages[name].status), "duration_s": stages[name].duration_s}
            for name in STAGES
            if name != "summary"
        },
        run_dir=str(run.path),
    )


def _gate_summary(run: RunDirectory, detail: JSONObject) -> GateSummary:
    if "promoted" not in detail:
        return GateSummary()
    summary = GateSummary(
        promoted=bool(detail["promoted"]),
        model_version=detail.get("model_version"),
        reason=detail.get("reason"),
        candidate_score=detail.get("candidate_score"),
        incumbent_score=detail.get("incumbent_score"),
        incumbent=detail.get("incumbent"),
        canary=detail.get("canary"),
    )
    inference = detail.get("inference") or {}
    summary.inference_requests, summary.inference_usd = (
        inference.get("requests"),
        inference.get("usd"),
    )
    if (run.path / GATE_FILE).exists():
        decision = run.read_json(GATE_FILE)
        for name, scores in (decision.get("slices") or {}).items():
            summary.slices[name] = {
                "cases": scores["candidate"]["cases"],
                "candidate": scores["candidate"]["score"],
                "incumbent": scores["incumbent"]["score"],
            }
        # absent from a gate.json written before the gate took intervals
        for key in ("outcome", "gain", "gain_low", "gain_high", "confidence", "cases",
                    "hook_version"):
            setattr(summary, key, decision.get(key))
        summary.without_hook = dict(decision.get("without_hook") or {})
        summary.serving = dict(decision.get("serving") or {})
    return summary


def _hook_summary(detail: JSONObject) -> HookGateSummary:
    gate = detail.get("gate") or {}
    if "active" not in detail:
        return HookGateSummary()
    return HookGateSummary(
        version_id=detail.get("version_id"),
        active=bool(detail["active"]),
        reason=detail.get("reason"),
        held_out=gate.get("held_out"),
        mean_repair=gate.get("mean_repair"),
        good_changed=len(gate.get("good_changed") or []),
    )


def _provider(estimate: Mapping[str, JSONValue]) -> str | None:
    """The provider the run's estimate was made for (a minutes estimate is a local run)."""
    if not estimate:
        return None
    return (
        "local"
        if estimate.get("kind") in ("minutes", "local")
        else str(estimate.get("provider") or "openai")
    )


def _last_reported_loss(run: RunDirectory) -> float | None:
    """The newest loss in the run's metric events (a job whose result carries no metrics)."""
    for event in reversed(read_events(run.events_path)):
        if event.get("type") == "metric":
            loss = final_loss(event.get("metrics") or {})
            if loss is not None:
                return loss
    return None


def read_summary(run: RunDirectory) -> RunSummary | None:
    """The run's ``summary.json``, if it has one."""
    if not run.summary_path.exists():
        return None
    return RunSummary.from_dict(run.read_json(run.summary_path.name))
