"""OpenAITrainer against the loopback stand-in with the real openai client (FR-3.2, FR-6.4, VT-9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.openai_standin import OpenAIStandIn
from tests.support.trainers import run_to_end, write_examples
from vectortrainer.cli.exit_codes import exit_code_for_error
from vectortrainer.config import Config
from vectortrainer.errors import (
    BudgetExceededError,
    DataFormatError,
    MissingAPIKeyError,
    TrainerAPIError,
    TrainingNotAvailableError,
    VectorTrainerError,
)
from vectortrainer.training.base import BaseTrainer, TrainingStatus
from vectortrainer.training.openai import OpenAITrainer

RUN_ID = "20260101-000000-abcd"


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    return write_examples(tmp_path / "golden.jsonl", 12)


def make_trainer(standin: OpenAIStandIn, **overrides) -> OpenAITrainer:
    settings = dict(base_url=standin.base_url, api_key=standin.api_key, max_budget_usd=5.0, max_retries=3, seed=7)
    settings.update(overrides)
    return OpenAITrainer(**settings)


def test_is_a_base_trainer():
    assert issubclass(OpenAITrainer, BaseTrainer)


def test_full_run_reaches_succeeded_with_metrics_and_model(openai_standin, train_file, tmp_path):
    valid = write_examples(tmp_path / "valid.jsonl", 3)
    trainer = make_trainer(openai_standin, n_epochs=2, batch_size=4, learning_rate_multiplier=0.5, suffix="tickets")
    prepared = trainer.prepare_data(train_file, valid, run_id=RUN_ID)

    assert prepared.n_examples == 12
    assert prepared.estimate.n_epochs == 2 and prepared.estimate.validation_examples == 3
    uploads = openai_standin.requests_to("POST", "/v1/files")
    assert [u.form["purpose"] for u in uploads] == ["fine-tune", "fine-tune"]
    filename = uploads[0].files["file"][0]
    assert RUN_ID in filename and "train" in filename
    assert openai_standin.file_contents[prepared.train_file_id] == train_file.read_bytes()

    job_id = trainer.start_training(prepared, run_id=RUN_ID)
    (create,) = openai_standin.requests_to("POST", "/v1/fine_tuning/jobs")
    assert create.json == {
        "model": "gpt-4o-mini-2024-07-18",
        "training_file": prepared.train_file_id,
        "validation_file": prepared.validation_file_id,
        "method": {
            "type": "supervised",
            "supervised": {"hyperparameters": {"n_epochs": 2, "batch_size": 4, "learning_rate_multiplier": 0.5}},
        },
        "metadata": {"vectortrainer_run_id": RUN_ID},
        "suffix": "tickets",
        "seed": 7,
    }

    seen = []
    for _ in range(20):
        status = trainer.get_status(job_id)
        seen.append(status)
        if status.is_terminal:
            break
    assert seen[0] is TrainingStatus.QUEUED and TrainingStatus.RUNNING in seen
    assert seen[-1] is TrainingStatus.SUCCEEDED

    events = list(trainer.events(job_id))
    assert [e.created_at for e in events] == sorted(e.created_at for e in events)
    metric_events = [e for e in events if e.kind == "metric"]
    assert [e.step for e in metric_events] == list(range(1, openai_standin.total_steps + 1))
    # The step total is a field of the event (the progress bar's end), not text to parse downstream.
    assert {e.total_steps for e in metric_events} == {openai_standin.total_steps}
    losses = [e.metrics["train_loss"] for e in metric_events]
    assert losses == sorted(losses, reverse=True) and len(set(losses)) == len(losses)
    assert all({"valid_loss", "train_mean_token_accuracy"} <= set(e.metrics) for e in metric_events)

    result = trainer.get_result(job_id)
    assert result.status is TrainingStatus.SUCCEEDED
    assert result.model_name == openai_standin.jobs[job_id]["fine_tuned_model"]
    assert result.model_name.startswith("ft:gpt-4o-mini-2024-07-18:") and ":tickets:" in result.model_name
    assert result.trained_tokens and result.trained_tokens > 0
    assert result.metrics["train_loss"] == losses[-1]
    assert result.checkpoints and result.checkpoints[-1].endswith(f"ckpt-step-{openai_standin.total_steps}")
    assert result.error is None


def test_events_after_an_id_are_only_the_newer_ones(openai_standin, train_file):
    trainer = make_trainer(openai_standin)
    job_id = trainer.start_training(trainer.prepare_data(train_file, run_id=RUN_ID), run_id=RUN_ID)
    trainer.get_status(job_id)
    first = list(trainer.events(job_id))
    run_to_end(trainer, job_id, limit=50)
    newer = list(trainer.events(job_id, after=first[-1].id))
    everything = list(trainer.events(job_id))
    assert [e.id for e in first + newer] == [e.id for e in everything]
    assert newer and all(e.id not in {f.id for f in first} for e in newer)


def test_events_page_through_long_histories(openai_standin, train_file):
    openai_standin.total_steps = 150  # more events than one page of 100
    openai_standin.steps_per_poll = 50
    trainer = make_trainer(openai_standin)
    job_id = trainer.start_training(trainer.prepare_data(train_file), run_id=RUN_ID)
    run_to_end(trainer, job_id, limit=50)
    steps = [e.step for e in trainer.events(job_id) if e.kind == "metric"]
    assert steps == list(range(1, 151))


def test_budget_exceeded_sends_no_request(openai_standin, train_file):
    trainer = make_trainer(openai_standin, model="gpt-4.1-2025-04-14", max_budget_usd=0.00001)
    with pytest.raises(BudgetExceededError) as info:
        trainer.prepare_data(train_file, run_id=RUN_ID)
    assert exit_code_for_error(info.value) == 3 and info.value.tokens > 0
    assert openai_standin.requests == []


def test_too_few_examples_refused_before_any_request(openai_standin, tmp_path):
    path = write_examples(tmp_path / "small.jsonl", 9)
    with pytest.raises(DataFormatError, match="9 training examples.*at least 10"):
        make_trainer(openai_standin).prepare_data(path)
    assert openai_standin.requests == []


@pytest.mark.parametrize(
    "bad, expected",
    [
        (["not", "an", "object"], "expected a JSON object"),
        ({"prompt": "x", "completion": "y"}, "'messages' list"),
        ({"messages": [{"content": "no role"}, {"role": "assistant", "content": "a"}]}, "missing role"),
        ({"messages": [{"role": "user", "content": "q", "mood": "x"}, {"role": "assistant", "content": "a"}]}, "mood"),
        ({"messages": [{"role": "robot", "content": "q"}, {"role": "assistant", "content": "a"}]}, "unknown role 'robot'"),
        ({"messages": [{"role": "user", "content": None}, {"role": "assistant", "content": "a"}]}, "content must be"),
        ({"messages": [{"role": "user", "content": "only a question"}]}, "no assistant message"),
    ],
)
def test_format_errors_name_the_line_and_stop_before_upload(openai_standin, tmp_path, bad, expected):
    path = write_examples(tmp_path / "bad.jsonl", 12, extra=[bad])
    with pytest.raises(DataFormatError, match=f"line 13: .*{expected}"):
        make_trainer(openai_standin).prepare_data(path)
    assert openai_standin.requests == []


def test_missing_api_key_after_budget_names_the_variable(monkeypatch, openai_standin, train_file):
    monkeypatch.delenv("VT_TEST_OPENAI_KEY", raising=False)
    trainer = make_trainer(openai_standin, api_key=None, api_key_env="VT_TEST_OPENAI_KEY")
    assert not trainer.has_api_key
    with pytest.raises(MissingAPIKeyError, match="set the VT_TEST_OPENAI_KEY environment variable") as info:
        trainer.prepare_data(train_file)
    assert exit_code_for_error(info.value) == 2
    tight = make_trainer(openai_standin, api_key=None, api_key_env="VT_TEST_OPENAI_KEY", max_budget_usd=0.0)
    with pytest.raises(BudgetExceededError):  # the guard runs first, key or not
        tight.prepare_data(train_file)
    monkeypatch.setenv("VT_TEST_OPENAI_KEY", openai_standin.api_key)
    assert trainer.prepare_data(train_file).train_file_id
    assert openai_standin.requests[0].headers["authorization"] == f"Bearer {openai_standin.api_key}"


def test_rejected_key_is_one_clear_error(openai_standin, train_file):
    trainer = make_trainer(openai_standin, api_key="sk-wrong")
    with pytest.raises(TrainerAPIError, match="API key was rejected"):
        trainer.prepare_data(train_file)


def test_same_file_is_not_uploaded_twice_after_a_crash(openai_standin, train_file):
    first = make_trainer(openai_standin).prepare_data(train_file, run_id=RUN_ID)
    again = make_trainer(openai_standin).prepare_data(train_file, run_id=RUN_ID)  # a fresh process resuming
    assert again.train_file_id == first.train_file_id
    assert len(openai_standin.requests_to("POST", "/v1/files")) == 1
    write_examples(train_file, 13)  # changed content is a new upload
    changed = make_trainer(openai_standin).prepare_data(train_file, run_id=RUN_ID)
    assert changed.train_file_id != first.train_file_id


def test_job_created_before_its_id_was_saved_is_found_not_recreated(openai_standin, train_file):
    trainer = make_trainer(openai_standin)
    prepared = trainer.prepare_data(train_file, run_id=RUN_ID)
    job_id = trainer.start_training(prepared, run_id=RUN_ID)  # ...and the process dies before saving job_id

    resumed = make_trainer(openai_standin)
    assert resumed.find_job(RUN_ID) == job_id
    assert resumed.find_job("some-other-run") is None
    assert resumed.start_training(prepared, run_id=RUN_ID) == job_id
    assert len(openai_standin.requests_to("POST", "/v1/fine_tuning/jobs")) == 1
    listing = openai_standin.requests_to("GET", "/v1/fine_tuning/jobs")[-1]
    assert listing.query["metadata[vectortrainer_run_id]"] == RUN_ID


def test_failed_or_cancelled_job_is_not_reused(openai_standin, train_file):
    trainer = make_trainer(openai_standin)
    prepared = trainer.prepare_data(train_file, run_id=RUN_ID)
    job_id = trainer.start_training(prepared, run_id=RUN_ID)
    trainer.cancel(job_id)
    assert trainer.get_status(job_id) is TrainingStatus.CANCELLED
    trainer.cancel(job_id)  # already terminal: nothing to do, no error
    assert trainer.find_job(RUN_ID) is None
    assert trainer.start_training(prepared, run_id=RUN_ID) != job_id


def test_failed_job_reports_the_error(openai_standin, train_file):
    openai_standin.fail_next_job(message="Training file has 3 examples with invalid roles.")
    trainer = make_trainer(openai_standin)
    job_id = trainer.start_training(trainer.prepare_data(train_file), run_id=RUN_ID)
    assert run_to_end(trainer, job_id, limit=50) is TrainingStatus.FAILED
    result = trainer.get_result(job_id)
    assert result.status is TrainingStatus.FAILED
    assert result.model_name is None
    assert result.error == "Training file has 3 examples with invalid roles."


def test_429_and_500_are_retried_by_the_sdk(openai_standin, train_file):
    openai_standin.inject_errors(429, 2, method="POST", path_prefix="/v1/files")
    openai_standin.inject_errors(500, 1, method="POST", path_prefix="/v1/fine_tuning/jobs")
    openai_standin.inject_errors(503, 1, method="GET", path_prefix="/v1/fine_tuning/jobs/")
    trainer = make_trainer(openai_standin, max_retries=3)
    job_id = trainer.start_training(trainer.prepare_data(train_file), run_id=RUN_ID)
    assert run_to_end(trainer, job_id, limit=50) is TrainingStatus.SUCCEEDED
    assert len(openai_standin.requests_to("POST", "/v1/files")) == 3
    assert len(openai_standin.requests_to("POST", "/v1/fine_tuning/jobs")) == 2
    assert len(openai_standin.jobs) == 1


def test_retries_exhausted_is_one_clear_error(openai_standin, train_file):
    openai_standin.inject_errors(429, 10, method="POST", path_prefix="/v1/files")
    trainer = make_trainer(openai_standin, max_retries=1)
    with pytest.raises(TrainerAPIError, match="rate limited after retries"):
        trainer.prepare_data(train_file)
    assert len(openai_standin.requests_to("POST", "/v1/files")) == 2


def test_training_not_available_names_the_alternatives(openai_standin, train_file):
    openai_standin.deny_training()
    trainer = make_trainer(openai_standin)
    prepared = trainer.prepare_data(train_file, run_id=RUN_ID)
    with pytest.raises(TrainingNotAvailableError) as info:
        trainer.start_training(prepared, run_id=RUN_ID)
    message = str(info.value)
    assert isinstance(info.value, VectorTrainerError)
    assert "training_not_available" in message and "training.provider: azure | together | fireworks | local" in message
    assert "another provider" in message
    assert openai_standin.jobs == {}


def test_dpo_method_carries_beta(openai_standin, tmp_path):
    pref = {
        "input": {"messages": [{"role": "user", "content": "status of order 7?"}]},
        "preferred_output": [{"role": "assistant", "content": "Shipped on Monday."}],
        "non_preferred_output": [{"role": "assistant", "content": "I don't know."}],
    }
    path = tmp_path / "pref.jsonl"
    path.write_text((json.dumps(pref) + "\n") * 10, encoding="utf-8")
    trainer = make_trainer(openai_standin, model="gpt-4.1-mini-2025-04-14", method="dpo", beta=0.2, n_epochs=1)
    trainer.start_training(trainer.prepare_data(path), run_id=RUN_ID)
    (create,) = openai_standin.requests_to("POST", "/v1/fine_tuning/jobs")
    assert create.json["method"] == {
        "type": "dpo",
        "dpo": {"hyperparameters": {"n_epochs": 1, "batch_size": "auto", "learning_rate_multiplier": "auto", "beta": 0.2}},
    }


def test_from_config_reads_training_budget_and_openai_sections(monkeypatch, openai_standin, train_file):
    config = Config().with_overrides(
        **{"training.model": "gpt-4.1-mini-2025-04-14", "training.n_epochs": 4, "budget.max_budget_usd": 0.5,
           "openai.base_url": openai_standin.base_url, "openai.api_key_env": "VT_TEST_KEY",
           "budget.prices": {"gpt-4.1-mini-2025-04-14": 7.0}}
    )
    monkeypatch.setenv("VT_TEST_KEY", openai_standin.api_key)
    trainer = OpenAITrainer.from_config(config)
    prepared = trainer.prepare_data(train_file)
    assert prepared.estimate.price_per_million == 7.0 and prepared.estimate.n_epochs == 4
    assert trainer.model == "gpt-4.1-mini-2025-04-14" and trainer.max_budget_usd == 0.5
    assert prepared.train_file_id in openai_standin.files


def test_unknown_job_is_a_clear_error(openai_standin):
    with pytest.raises(TrainerAPIError, match="404"):
        make_trainer(openai_standin).get_status("ftjob-nope")


# ----- inference: what the evaluation gate replays held-out inputs through ------------------
def test_complete_asks_the_fine_tuned_model_through_chat_completions(openai_standin, train_file):
    trainer = make_trainer(openai_standin)
    prepared = trainer.prepare_data(train_file, run_id=RUN_ID)
    job_id = trainer.start_training(prepared, run_id=RUN_ID)
    assert run_to_end(trainer, job_id, limit=50) == TrainingStatus.SUCCEEDED
    model = trainer.get_result(job_id).model_name
    asked = [{"role": "system", "content": "You classify support tickets."},
             {"role": "user", "content": "ticket 7: my invoice is wrong"}]

    reply = trainer.complete(model, asked, max_tokens=16)
    base = trainer.complete(trainer.base_model, asked, max_tokens=16)

    assert reply.text == "billing-7" and reply.prompt_tokens > 0 and reply.completion_tokens > 0
    assert base.text != "billing-7"  # the untuned model never learned the labels
    [request] = [r for r in openai_standin.requests_to("POST", "/v1/chat/completions") if r.json["model"] == model]
    assert request.json["temperature"] == 0 and request.json["max_completion_tokens"] == 16
    assert request.json["seed"] == 7 and request.json["messages"] == asked


def test_complete_for_an_unknown_model_is_one_clear_error(openai_standin):
    trainer = make_trainer(openai_standin)
    with pytest.raises(TrainerAPIError, match="asking ft:nobody.*404.*does not exist"):
        trainer.complete("ft:nobody", [{"role": "user", "content": "hi"}], max_tokens=4)


def test_a_trainer_without_inference_refuses_with_what_to_do():
    from vectortrainer.errors import InferenceNotAvailableError

    class UploadOnly(BaseTrainer):
        name = "upload-only"
        prepare_data = estimate = start_training = get_status = get_result = cancel = events = None  # type: ignore[assignment]

    with pytest.raises(InferenceNotAvailableError, match="upload-only trainer cannot answer.*gate.enabled: false"):
        UploadOnly().complete_many("m", [[{"role": "user", "content": "hi"}]], max_tokens=4)
