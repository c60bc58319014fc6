"""LocalTrainer on a tiny randomly initialised model built in tmp_path (CPU, no download).

SFT and DPO run a few real optimiser steps through TRL; the tests read the events
and metrics the pipeline would forward, cancel a run, refuse one over the time
budget, and load the saved LoRA adapter with peft.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")

from tests.support.tiny_model import build_tiny_model  # noqa: E402
from vectortrainer.cli.exit_codes import exit_code_for_error
from vectortrainer.errors import (  # noqa: E402
    ConfigError,
    DataFormatError,
    TimeBudgetExceededError,  # noqa: E402
)
from vectortrainer.feedback.pair import FeedbackPair  # noqa: E402
from vectortrainer.feedback.preference import export_preference_jsonl  # noqa: E402
from vectortrainer.training.base import TrainingStatus  # noqa: E402
from vectortrainer.training.local.evaluation import (  # noqa: E402
    edit_similarity,
    evaluate_model,
    load_for_replies,
    read_held_out,
)
from vectortrainer.training.local.trainer import LocalTrainer  # noqa: E402

TICKETS = [
    ("The printer on floor two is jammed again.", "Printer jammed on floor two."),
    ("Customer cannot log in after the password reset email expired.", "Login fails: reset email expired."),
    ("Refund requested for a duplicate charge on the March invoice.", "Duplicate March charge; refund requested."),
]
SYSTEM = "You summarise support tickets in one short sentence."


def _chat(user: str, reply: str) -> dict:
    return {"messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": user},
                         {"role": "assistant", "content": reply}]}


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture
def golden(tmp_path) -> tuple[Path, Path]:
    train = _write_jsonl(tmp_path / "golden.jsonl", [_chat(u, a) for u, a in TICKETS * 2])
    valid = _write_jsonl(tmp_path / "validation.jsonl", [_chat(u, a) for u, a in TICKETS[:2]])
    return train, valid


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_sft_runs_steps_reports_losses_and_saves_a_loadable_adapter(tiny_model, golden, tmp_path):
    train, valid = golden
    trainer = LocalTrainer(tiny_model, output_dir=tmp_path / "out", max_steps=3, batch_size=2,
                           learning_rate_multiplier=50.0, eval_max_new_tokens=6)
    prepared = trainer.prepare_data(train, valid)
    assert prepared.n_examples == 6
    estimate = prepared.estimate
    assert estimate.tokens_per_second > 0 and estimate.estimated_minutes > 0
    assert estimate.n_epochs_trained == pytest.approx(1.0)  # 3 steps of 2 = one pass over 6 examples

    job_id = trainer.start_training(prepared, run_id="run-sft")
    result = trainer.wait(job_id, timeout=120)
    assert result.status is TrainingStatus.SUCCEEDED, result.error

    events = list(trainer.events(job_id))
    metric_events = [e for e in events if e.kind == "metric"]
    assert [e.step for e in metric_events if "train_loss" in e.metrics] == [1, 2, 3]
    assert any("valid_loss" in e.metrics for e in metric_events)
    assert any(e.message.startswith("training on CPU") for e in events)
    # Event ids are ordered: asking for events after one returns only newer ones.
    assert list(trainer.events(job_id, after=events[-2].id)) == [events[-1]]

    adapter = Path(result.model_name)
    assert adapter.parent.parent == tmp_path / "out" / "runs" / "run-sft" / "local"
    info = json.loads((adapter / "training_info.json").read_text())
    assert info["base_model"] == str(tiny_model)
    assert info["data_sha256"] == hashlib.sha256(train.read_bytes()).hexdigest()
    assert info["hyperparameters"]["max_steps"] == 3 and info["steps"] == 3
    assert 0.0 <= result.metrics["eval_similarity"] <= 1.0
    assert "base_eval_similarity" in result.metrics

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(tiny_model), local_files_only=True)
    loaded = PeftModel.from_pretrained(base, str(adapter), local_files_only=True)
    lora_b = [p for name, p in loaded.named_parameters() if "lora_B" in name]
    # LoRA's B matrices start at zero; training moved them.
    assert lora_b and any(torch.count_nonzero(p) > 0 for p in lora_b)


def test_dpo_trains_on_feedback_pairs_exported_in_openai_shape(tiny_model, tmp_path):
    pairs = [FeedbackPair(bad_output="ok whatever", fixed_output=fixed, input_prompt=user) for user, fixed in TICKETS]
    data = tmp_path / "preference.jsonl"
    export_preference_jsonl(pairs * 2, data, fmt="openai", default_system_prompt=SYSTEM)
    trainer = LocalTrainer(tiny_model, output_dir=tmp_path / "out", method="dpo", beta=0.2,
                           max_steps=2, batch_size=2)
    prepared = trainer.prepare_data(data)
    assert prepared.estimate.method == "dpo"
    job_id = trainer.start_training(prepared, run_id="run-dpo")
    result = trainer.wait(job_id, timeout=120)
    assert result.status is TrainingStatus.SUCCEEDED, result.error
    losses = [e.metrics["train_loss"] for e in trainer.events(job_id) if "train_loss" in e.metrics]
    assert len(losses) == 2
    assert losses[0] == pytest.approx(0.6931, abs=1e-3)  # DPO starts at log(2): policy == reference
    assert "train_reward_margin" in result.metrics
    info = json.loads((Path(result.model_name) / "training_info.json").read_text())
    assert info["method"] == "dpo" and info["hyperparameters"]["beta"] == 0.2


def test_cancel_stops_a_running_job_without_saving_an_adapter(tiny_model, golden, tmp_path):
    train, _ = golden
    trainer = LocalTrainer(tiny_model, output_dir=tmp_path / "out", max_steps=10_000, batch_size=1, calibrate=False)
    job_id = trainer.start_training(trainer.prepare_data(train), run_id="run-cancel")
    _wait_for(lambda: any(e.kind == "metric" for e in trainer.events(job_id)))
    assert trainer.get_status(job_id) is TrainingStatus.RUNNING
    trainer.cancel(job_id)
    result = trainer.wait(job_id, timeout=60)
    assert result.status is TrainingStatus.CANCELLED
    assert result.model_name is None
    job_dir = tmp_path / "out" / "runs" / "run-cancel" / "local" / job_id
    assert not (job_dir / "adapter").exists()
    assert json.loads((job_dir / "job.json").read_text())["status"] == "cancelled"


def test_time_budget_refuses_before_anything_trains(tiny_model, golden, tmp_path):
    train, _ = golden
    trainer = LocalTrainer(tiny_model, output_dir=tmp_path / "out", n_epochs=1000, max_minutes=0.001)
    with pytest.raises(TimeBudgetExceededError) as info:
        trainer.prepare_data(train)
    assert exit_code_for_error(info.value) == 3
    assert "budget.max_minutes" in str(info.value)
    assert info.value.estimate.estimated_minutes > 0.001
    assert not (tmp_path / "out").exists()


def test_a_new_trainer_finds_a_finished_job_and_reads_its_events(tiny_model, golden, tmp_path):
    train, _ = golden
    first = LocalTrainer(tiny_model, output_dir=tmp_path / "out", max_steps=1, calibrate=False)
    job_id = first.start_training(first.prepare_data(train), run_id="run-resume")
    assert first.wait(job_id, timeout=120).status is TrainingStatus.SUCCEEDED

    again = LocalTrainer(tiny_model, output_dir=tmp_path / "out", max_steps=1, calibrate=False)
    assert again.find_job("run-resume") == job_id
    assert again.find_job("another-run") is None
    assert again.get_result(job_id).model_name == first.get_result(job_id).model_name
    assert [e.id for e in again.events(job_id)] == [e.id for e in first.events(job_id)]


def test_an_interrupted_job_reads_as_failed_and_is_not_resumed(tiny_model, golden, tmp_path):
    train, _ = golden
    first = LocalTrainer(tiny_model, output_dir=tmp_path / "out", max_steps=1, calibrate=False)
    job_id = first.start_training(first.prepare_data(train), run_id="run-crash")
    first.wait(job_id, timeout=120)
    job_file = tmp_path / "out" / "runs" / "run-crash" / "local" / job_id / "job.json"
    state = json.loads(job_file.read_text())
    job_file.write_text(json.dumps({**state, "status": "running"}))  # as if the process died mid-run

    again = LocalTrainer(tiny_model, output_dir=tmp_path / "out", calibrate=False)
    assert again.get_status(job_id) is TrainingStatus.FAILED
    assert "ended before it finished" in again.get_result(job_id).error
    assert again.find_job("run-crash") is None


def test_bad_inputs_give_one_clear_error(tiny_model, tmp_path):
    with pytest.raises(ConfigError, match="training.local_model: not set"):
        LocalTrainer(None, output_dir=tmp_path)
    with pytest.raises(ConfigError, match="is not a directory"):
        LocalTrainer(tmp_path / "missing", output_dir=tmp_path)
    trainer = LocalTrainer(tiny_model, output_dir=tmp_path / "out", calibrate=False)
    pairs = [FeedbackPair(bad_output="b", fixed_output="f", input_prompt="q")]
    preference = export_preference_jsonl(pairs, tmp_path / "pref.jsonl").path
    with pytest.raises(DataFormatError, match=r"pref.jsonl:1: .*training.method: dpo"):
        trainer.prepare_data(preference)
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(_chat("q", "a")) + "\n" + json.dumps({"messages": [{"role": "user", "content": "q"}]}) + "\n")
    with pytest.raises(DataFormatError, match=r"broken.jsonl:2: "):
        trainer.prepare_data(broken)


def test_chat_template_is_applied_and_reply_ends_with_eos(tiny_model, tmp_path):
    trainer = LocalTrainer(tiny_model, output_dir=tmp_path, calibrate=False)
    rows = trainer.convert_file(_write_jsonl(tmp_path / "g.jsonl", [_chat("hello there", "hi")]))
    assert rows == [{
        "prompt": f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\nhello there<|im_end|>\n"
                  "<|im_start|>assistant\n",
        "completion": "hi<|im_end|>",
    }]


def test_evaluation_scores_replies_against_golden_outputs(tiny_model, golden):
    assert edit_similarity("abc", "abc") == 1.0
    assert edit_similarity("abcd", "abcf") == pytest.approx(0.75)
    _, valid = golden
    model, tokenizer, device = load_for_replies(tiny_model)
    report = evaluate_model(model, tokenizer, read_held_out(valid), device=device, max_new_tokens=4)
    assert report.n_examples == 2 and report.base_mean_similarity is None  # no adapter: nothing to compare
    for example in report.examples:
        assert example.similarity == pytest.approx(edit_similarity(example.generated, example.expected))
    assert report.mean_similarity == pytest.approx(sum(e.similarity for e in report.examples) / 2)


def test_complete_many_answers_with_the_base_model_or_the_trained_adapter(tiny_model, golden, tmp_path):
    train, valid = golden
    trainer = LocalTrainer(tiny_model, output_dir=tmp_path / "out", max_steps=2, batch_size=2,
                           learning_rate_multiplier=50.0, calibrate=False, evaluate=False)
    result = trainer.wait(trainer.start_training(trainer.prepare_data(train), run_id="run-serve"), timeout=120)
    conversations = [[{"role": "system", "content": SYSTEM}, {"role": "user", "content": u}] for u, _ in TICKETS[:2]]

    base = trainer.complete_many(trainer.base_model, conversations, max_tokens=4)
    tuned = trainer.complete_many(result.model_name, conversations, max_tokens=4)

    # The same replies the held-out evaluation decodes, with and without the adapter.
    model, tokenizer, device = load_for_replies(tiny_model, Path(result.model_name))
    report = evaluate_model(model, tokenizer, read_held_out(valid), device=device, max_new_tokens=4)
    assert [c.text for c in tuned] == [e.generated for e in report.examples]
    assert [c.text for c in base] == [e.base_generated for e in report.examples]
    assert all(c.prompt_tokens > 5 and c.completion_tokens <= 4 for c in base + tuned)


@pytest.mark.parametrize("method", ["supervised", "dpo"])
def test_pipeline_with_the_local_trainer_runs_from_estimate_to_summary(method, tiny_model, tmp_path):
    """The real pipeline resumes a run whose golden data exists (extraction has its own tests)."""
    from vectortrainer.config import Config
    from vectortrainer.pipeline import TrainingPipeline
    from vectortrainer.runs.directory import RunDirectory
    from vectortrainer.runs.events import read_events
    from vectortrainer.runs.status import StageStatus

    feedback = tmp_path / "feedback.jsonl"
    feedback.write_text("".join(
        json.dumps(FeedbackPair(bad_output="ok whatever", fixed_output=fixed, input_prompt=user,
                                context={"function": "summarize_ticket"}).to_dict()) + "\n"
        for user, fixed in TICKETS * 2))
    config = Config().with_overrides(**{
        "output_dir": tmp_path / "out", "feedback.path": feedback, "training.trainer": "local",
        "training.method": method, "training.local_model": str(tiny_model), "training.max_steps": 2,
        "training.batch_size": 2, "training.validation_split": 0.25, "training.poll_interval_s": 0.05,
        "budget.max_minutes": 30.0, "models.dir": tmp_path / "models", "hooks.dir": tmp_path / "hooks",
        # A tiny random model cannot beat its base; the gate on local models has its own test (test_batch_local).
        "gate.enabled": False})
    run = RunDirectory.create(config.output_dir, config.redacted(), run_id=f"local-{method}",
                              function="summarize_ticket")
    _write_jsonl(run.golden_path, [_chat(u, a) for u, a in TICKETS * 3])
    for stage in ("extract", "synthesize"):
        run.state.stage(stage).status = StageStatus.COMPLETE
    run.save()

    outcome = TrainingPipeline(config).resume(run.run_id)
    assert outcome.ok, outcome.message
    estimate = json.loads((run.path / "estimate.json").read_text())
    assert estimate["kind"] == "minutes" and estimate["method"] == method and estimate["tokens_per_second"] > 0
    events = read_events(run.path / "events.jsonl")
    assert sum("train_loss" in json.dumps(e) for e in events) >= 2  # per-step metrics reached the run's log
    adapter = Path(json.loads((run.path / "run.json").read_text())["fine_tuned_model"])
    assert adapter.is_relative_to(run.path) and (adapter / "adapter_model.safetensors").exists()
    assert json.loads((adapter / "training_info.json").read_text())["method"] == method
    if method == "dpo":
        assert len((run.path / "preference.jsonl").read_text().splitlines()) == 6
