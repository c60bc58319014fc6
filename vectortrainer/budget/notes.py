"""What a run says of its estimate once it passed the guard: the log lines and the estimate stage's
figures, for dollars and for minutes alike.

The pipeline logs :attr:`EstimateNotes.lines` and records :attr:`EstimateNotes.detail` in
``run.json``; the budget confirmation the faces show is
:mod:`vectortrainer.workspace.budget_view`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vectortrainer.budget.estimates import CostEstimate, Estimate, TimeEstimate
from vectortrainer.json_types import JSONObject


@dataclass(frozen=True)
class LogLine:
    text: str
    level: str = "info"


@dataclass(frozen=True)
class EstimateNotes:
    """The lines a run logs of its estimate, and the figures its estimate stage records."""

    lines: list[LogLine] = field(default_factory=list)
    detail: JSONObject = field(default_factory=dict)


def estimate_notes(estimate: Estimate, *, where: str) -> EstimateNotes:
    """What to log and record of ``estimate`` (held to its budget); ``where`` names the trainer."""
    if isinstance(estimate, TimeEstimate):
        return _minutes_notes(estimate)
    if isinstance(estimate, CostEstimate):
        return _dollar_notes(estimate, where)
    raise TypeError(f"no notes for an estimate of kind {estimate.kind!r}")


def _dollar_notes(estimate: CostEstimate, where: str) -> EstimateNotes:
    budget = estimate.budget_usd
    budget_text = f"${budget:.2f}" if budget is not None else "off"
    note = f"${estimate.estimated_usd:.4f} (budget {budget_text})"
    lines = [
        LogLine(f"{estimate.billed_tokens:,} billed tokens on {estimate.model} ({where}): {note}")
    ]
    if estimate.evaluation_requests:
        lines.append(
            LogLine(
                f"evaluation gate: {estimate.evaluation_requests} held-out replies, at most "
                f"${estimate.evaluation_usd:.4f} (included)"
            )
        )
    for hosted in estimate.hosting:
        lines.append(LogLine(
            f"gate deployment: {hosted['what']} for at most {hosted['hours']:g} h at "
            f"${float(hosted['hourly_usd']):.2f}/h, ${float(hosted['estimated_usd']):.4f} "
            "(included; torn down after the gate unless the model is promoted)"))
    if estimate.too_long:
        lines.append(
            LogLine(
                f"{len(estimate.too_long)} example(s) exceed the per-example limit and will be "
                f"truncated (lines {estimate.too_long[:5]})",
                "warning",
            )
        )
    detail: JSONObject = {
        "estimated_usd": estimate.estimated_usd,
        "budget_usd": budget,
        "provider": estimate.provider,
        "note": note,
    }
    return EstimateNotes(lines, detail)


def _minutes_notes(estimate: TimeEstimate) -> EstimateNotes:
    minutes = (
        "not measured"
        if estimate.estimated_minutes is None
        else f"~{estimate.estimated_minutes:.1f} min"
    )
    note = f"{minutes} on {estimate.device}"
    line = LogLine(
        f"{estimate.total_tokens:,} tokens ({estimate.tokens_per_epoch:,} x "
        f"{estimate.n_epochs_trained:g} epochs) on {estimate.model}: {note}"
    )
    detail: JSONObject = {
        "estimated_usd": 0.0,
        "estimated_minutes": estimate.estimated_minutes,
        "max_minutes": estimate.max_minutes,
        "note": note,
    }
    return EstimateNotes([line], detail)
