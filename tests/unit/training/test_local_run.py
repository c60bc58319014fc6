"""TRL's per-step logs become metric events under the vendor's names, with the step total as a field."""

from __future__ import annotations

from vectortrainer.training.local.run import metric_event


def test_a_step_log_is_a_metric_event_with_its_total():
    event = metric_event(3, {"loss": 1.25, "eval_loss": 1.5, "learning_rate": 1e-4, "epoch": 0.5}, total_steps=12)
    assert event is not None and event.kind == "metric" and event.step == 3 and event.total_steps == 12
    assert event.metrics == {"train_loss": 1.25, "valid_loss": 1.5, "learning_rate": 1e-4}
    assert event.message.startswith("step 3/12: ")


def test_the_closing_summary_and_logs_without_metrics_are_no_events():
    assert metric_event(12, {"train_runtime": 4.0, "train_loss": 1.0}, 12) is None
    assert metric_event(1, {"epoch": 1.0}, 12) is None
    open_ended = metric_event(2, {"loss": 0.5}, 0)
    assert open_ended is not None and open_ended.total_steps is None and open_ended.message.startswith("step 2: ")
