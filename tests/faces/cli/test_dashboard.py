"""The --batch dashboard (FR-4.2, FR-4.4): live on a terminal, plain lines elsewhere, the summary table."""

from __future__ import annotations

import io

from rich.console import Console

from vectortrainer.cli.dashboard import RichDashboard, render_summary
from vectortrainer.runs.summary import RunSummary


def _dashboard(*, terminal: bool) -> tuple[RichDashboard, io.StringIO]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=110, force_terminal=terminal, color_system=None)
    return RichDashboard(console, refresh_per_second=20), buffer


def _drive(dashboard: RichDashboard) -> None:
    with dashboard:
        dashboard.on_run_start("run-42")
        dashboard.on_stage_start("extract", total=10, description="density")
        dashboard.on_progress("extract", 4, 10)
        dashboard.on_stage_complete("extract", result={"note": "12 examples"}, duration_s=1.5)
        dashboard.on_stage_complete("synthesize", skipped=True)
        dashboard.on_stage_start("upload")
        dashboard.on_stage_failed("upload", "no API key")
        dashboard.on_log("a warning line", level="warning")
        dashboard.on_metric({"train_loss": 0.125}, step=9)
        dashboard.on_metric({"train_loss": 0.0625}, step=10)


def test_live_dashboard_on_a_terminal_shows_stages_progress_logs_and_metrics():
    dashboard, buffer = _dashboard(terminal=True)
    assert dashboard.live
    _drive(dashboard)
    text = buffer.getvalue()

    assert "run run-42" in text
    assert "12 examples" in text and "1.5s" in text
    assert "done in an earlier attempt" in text
    assert "failed" in text and "no API key" in text
    assert "a warning line" in text
    assert "step 10: train_loss=0.0625" in text
    assert dashboard.stage_states["extract"] == "complete"
    assert dashboard.stage_states["monitor"] == "pending"


def test_dashboard_without_a_terminal_prints_plain_lines_in_order():
    dashboard, buffer = _dashboard(terminal=False)
    assert not dashboard.live
    _drive(dashboard)
    lines = buffer.getvalue().splitlines()

    assert lines == [
        "extract started: density",
        "extract complete in 1.5s: 12 examples",
        "synthesize skipped: done in an earlier attempt",
        "upload started",
        "upload failed: no API key",
        "a warning line",
        "step 9: train_loss=0.125",  # the next metric falls inside metric_every_s
    ]


def test_dashboard_keeps_only_the_log_tail():
    dashboard, _ = _dashboard(terminal=False)
    for i in range(30):
        dashboard.on_log(f"line {i}")
    assert [text for _, text in dashboard.log_tail] == [f"line {i}" for i in range(22, 30)]


def test_summary_shows_golden_rules_cost_and_training():
    summary = RunSummary.from_dict({
        "run_id": "r9",
        "golden": {"examples": 20, "per_strategy": {"steady": 15, "anomaly": 5},
                   "density_percentiles": {"p50": 3.5, "p90": 9.25}},
        "rules": {"count": 4, "conflicts": 1, "merged": 2},
        "cost": {"estimated_usd": 0.0123, "budget_usd": 5.0, "tokens": 4100, "n_epochs": 3},
        "training": {"status": "succeeded", "final_loss": 0.3141, "trained_tokens": 4100,
                     "fine_tuned_model": "ft:gpt-4o-mini-2024-07-18:org::abc"},
        "unknown": "ignored",
    })
    buffer = io.StringIO()
    Console(file=buffer, width=140, color_system=None).print(render_summary(summary))
    text = buffer.getvalue()

    for expected in ("20 (15 steady, 5 anomaly)", "p50 3.5", "p90 9.25", "4 (1 conflicts, 2 merged)",
                     "$0.01 of $5.00 for 4,100 tokens", "final loss", "0.3141", "ft:gpt-4o-mini-2024-07-18:org::abc"):
        assert expected in text
    assert render_summary(summary).row_count == len(summary.rows()) == 8


def test_summary_folds_a_long_value_instead_of_cutting_it():
    # A local run's adapter folder has no spaces; at 80 columns (a pipe's width) it used to end
    # in an ellipsis, and the summary did not say where the model is.
    folder = ".vectortrainer/output/runs/20261208-024626-a57fbd/local/localjob-06e205b46975/adapter"
    summary = RunSummary.from_dict({"run_id": "r1", "training": {
        "status": "succeeded", "fine_tuned_model": folder}})
    buffer = io.StringIO()
    Console(file=buffer, width=80, color_system=None).print(render_summary(summary))
    rows = [line.split("\u2502") for line in buffer.getvalue().splitlines()
            if line.count("\u2502") == 3]
    value_column = "".join(cells[2].strip() for cells in rows)  # the table's rows, not its borders
    assert "\u2026" not in buffer.getvalue()
    assert folder in value_column


def test_summary_with_missing_sections_still_renders():
    buffer = io.StringIO()
    summary = RunSummary.from_dict({"run_id": "r0", "golden": None, "cost": "not a mapping"})
    Console(file=buffer, width=120, color_system=None).print(render_summary(summary))
    assert "summary of run r0" in buffer.getvalue() and summary.rows() == []
