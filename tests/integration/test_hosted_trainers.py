"""Every hosted trainer through its real SDK against its stand-in: one contract, the same guards (VT-14).

Each test runs for OpenAI, Azure OpenAI, Together and Fireworks (the ``provider``
harness). "Zero requests" is read off the stand-in's request log, "one job" off its jobs.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.support.providers import Harness, harness
from tests.support.trainers import run_to_end, write_examples
from vectortrainer.cli.exit_codes import exit_code_for_error
from vectortrainer.errors import (
    BudgetExceededError,
    DataFormatError,
    FineTuningClosedError,
    HyperparameterError,
    QuotaExhaustedError,
    RetiredModelError,
)
from vectortrainer.training.base import BaseTrainer, TrainingStatus
from vectortrainer.training.factory import HOSTED_TRAINERS

RUN_ID = "20261201-000000-prov"
PREFERENCE = {
    "input": {"messages": [{"role": "user", "content": "status of order 7?"}]},
    "preferred_output": [{"role": "assistant", "content": "Shipped on Monday."}],
    "non_preferred_output": [{"role": "assistant", "content": "I don't know."}],
}
# A value each provider's published range refuses.
OUT_OF_RANGE = {"openai": {"n_epochs": 60}, "azure": {"batch_size": 512}, "together": {"n_epochs": 21},
                "fireworks": {"method": "dpo", "beta": 0.5}}


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    return write_examples(tmp_path / "golden.jsonl", 12)


def make(chosen: Harness, **overrides) -> BaseTrainer:
    settings = {**chosen.settings, "max_budget_usd": 5.0, "seed": 7, **overrides}
    return HOSTED_TRAINERS[chosen.name](**settings)


def test_a_job_runs_to_a_trained_model_with_the_same_events(provider, train_file):
    trainer = make(provider)
    prepared = trainer.prepare_data(train_file, run_id=RUN_ID)
    assert prepared.estimate.provider == provider.name and prepared.n_examples == 12
    job_id = trainer.start_training(prepared, run_id=RUN_ID)
    events, after = [], None
    for _ in range(60):
        batch = list(trainer.events(job_id, after=after))
        events += batch
        after = batch[-1].id if batch else after
        if trainer.get_status(job_id).is_terminal:
            break
    events += list(trainer.events(job_id, after=after))
    result = trainer.get_result(job_id)

    assert result.status is TrainingStatus.SUCCEEDED and result.model_name and result.error is None
    assert provider.uploads == 1 and provider.job_creations == 1 and provider.jobs == 1
    assert len({e.id for e in events}) == len(events)  # ``after`` hands out each event once
    steps = [e for e in events if e.kind == "metric" and e.step is not None]
    assert steps and all(e.total_steps for e in steps)
    losses = [e.metrics["train_loss"] for e in events if "train_loss" in e.metrics]
    if provider.name == "fireworks":  # its API reports progress, not losses
        assert not losses and steps[-1].step == steps[-1].total_steps == 100
    else:
        assert losses == sorted(losses, reverse=True) and result.metrics["train_loss"] == losses[-1]
    assert set().union(*(e.metrics for e in events)) <= {"train_loss", "valid_loss", "train_mean_token_accuracy",
                                                          "valid_mean_token_accuracy"}


def test_budget_breach_sends_no_request(provider, train_file):
    with pytest.raises(BudgetExceededError) as info:
        make(provider, max_budget_usd=0.0000001).prepare_data(train_file, run_id=RUN_ID)
    assert exit_code_for_error(info.value) == 3
    assert provider.standin.requests == []


def test_an_out_of_range_setting_sends_no_request(provider, train_file):
    bad = OUT_OF_RANGE[provider.name]
    path = train_file
    if bad.get("method") == "dpo":
        path = train_file.with_name("pref.jsonl")
        path.write_text((json.dumps(PREFERENCE) + "\n") * 12, encoding="utf-8")
    with pytest.raises(HyperparameterError) as info:
        make(provider, **bad).prepare_data(path, run_id=RUN_ID)
    key = next(iter(k for k in bad if k != "method"))
    assert f"training.{key}" in str(info.value) and provider.title in str(info.value)
    assert "Nothing was uploaded" in str(info.value) and exit_code_for_error(info.value) == 2
    assert provider.standin.requests == []


def test_a_500_after_the_job_was_created_leaves_exactly_one_job(provider, train_file):
    trainer = make(provider)
    prepared = trainer.prepare_data(train_file, run_id=RUN_ID)
    provider.standin.fail_after_creating()
    job_id = trainer.start_training(prepared, run_id=RUN_ID)
    assert provider.jobs == 1 and provider.job_creations == 1
    assert run_to_end(trainer, job_id) is TrainingStatus.SUCCEEDED


def test_a_fresh_process_finds_the_upload_and_the_job_again(provider, train_file):
    first = make(provider)
    prepared = first.prepare_data(train_file, run_id=RUN_ID)
    job_id = first.start_training(prepared, run_id=RUN_ID)  # ...and the process dies before saving the ids

    again = make(provider)
    assert again.prepare_data(train_file, run_id=RUN_ID).train_file_id == prepared.train_file_id
    assert again.find_job(RUN_ID) == job_id and again.find_job("another-run") is None
    assert again.start_training(prepared, run_id=RUN_ID) == job_id
    assert provider.uploads == 1 and provider.job_creations == 1 and provider.jobs == 1


def test_a_cancelled_job_is_not_reused(provider, train_file):
    trainer = make(provider)
    prepared = trainer.prepare_data(train_file, run_id=RUN_ID)
    job_id = trainer.start_training(prepared, run_id=RUN_ID)
    trainer.cancel(job_id)
    assert run_to_end(trainer, job_id) is TrainingStatus.CANCELLED
    trainer.cancel(job_id)  # already over: nothing to do, no error
    assert trainer.find_job(RUN_ID) is None
    assert trainer.start_training(prepared, run_id=RUN_ID) != job_id
    assert provider.jobs == 2


def test_a_failed_job_reports_the_providers_reason(provider, train_file):
    provider.fail_next_job("the dataset is too small to train on")
    trainer = make(provider)
    job_id = trainer.start_training(trainer.prepare_data(train_file, run_id=RUN_ID), run_id=RUN_ID)
    assert run_to_end(trainer, job_id) is TrainingStatus.FAILED
    result = trainer.get_result(job_id)
    assert result.model_name is None and result.error == "the dataset is too small to train on"


def test_rate_limits_are_retried_and_exhausted_retries_are_one_clear_error(provider, train_file):
    provider.inject_job_errors(429, 2)
    trainer = make(provider, max_retries=3)
    job_id = trainer.start_training(trainer.prepare_data(train_file, run_id=RUN_ID), run_id=RUN_ID)
    assert provider.jobs == 1 and provider.job_creations == 3 and job_id

    provider.standin.inject_errors(503, 10, method="GET")
    with pytest.raises(Exception, match="the API answered 503") as info:
        make(provider, max_retries=1).get_status(job_id)
    assert exit_code_for_error(info.value) == 1


def test_a_missing_key_is_named_after_the_checks(provider, train_file, monkeypatch):
    for variable in provider.env:
        monkeypatch.delenv(variable, raising=False)
    trainer = make(provider, api_key=None)
    assert not trainer.has_api_key
    with pytest.raises(Exception, match=f"set the {next(iter(provider.env))} environment variable"):
        trainer.prepare_data(train_file, run_id=RUN_ID)
    assert provider.standin.requests == []


# ----- OpenAI: the cutoff, the spec's ranges, DPO models, the quota -------------------------
def test_past_openais_cutoff_nothing_is_sent_and_the_alternatives_are_named(openai_standin, train_file):
    chosen = harness("openai", openai_standin)
    trainer = make(chosen, today=dt.date(2027, 1, 7))
    with pytest.raises(FineTuningClosedError) as info:
        trainer.prepare_data(train_file, run_id=RUN_ID)
    message = str(info.value)
    assert "after 2027-01-06" in message and "today is 2027-01-07" in message
    assert "training.provider: azure | together | fireworks | local" in message
    assert exit_code_for_error(info.value) == 2 and openai_standin.requests == []
    # The day before the cutoff still works, and warns.
    estimate = make(chosen, today=dt.date(2027, 1, 6)).estimate(train_file)
    assert any("no new fine-tuning jobs after 2027-01-06 (in 0 days)" in w for w in estimate.warnings)


def test_a_model_past_its_shutdown_is_refused_before_any_request(openai_standin, train_file):
    trainer = make(harness("openai", openai_standin), model="gpt-4.1-nano-2025-04-14")
    with pytest.raises(RetiredModelError, match="retired on 2026-10-23"):
        trainer.prepare_data(train_file, run_id=RUN_ID)
    assert openai_standin.requests == []


@pytest.mark.parametrize("setting, key", [
    ({"n_epochs": 60}, "n_epochs"), ({"batch_size": 512}, "batch_size"),
    ({"learning_rate_multiplier": -0.5}, "learning_rate_multiplier"),
    ({"method": "dpo", "beta": 5, "model": "gpt-4.1-mini-2025-04-14"}, "beta"), ({"seed": -1}, "seed"),
    ({"method": "dpo", "model": "gpt-4o-mini-2024-07-18"}, "method"),
])
def test_what_openais_spec_refuses_is_refused_here_first(openai_standin, tmp_path, setting, key):
    path = write_examples(tmp_path / "golden.jsonl", 12)
    if setting.get("method") == "dpo":
        path.write_text((json.dumps(PREFERENCE) + "\n") * 12, encoding="utf-8")
    with pytest.raises(HyperparameterError, match=f"training.{key}"):
        make(harness("openai", openai_standin), **setting).prepare_data(path, run_id=RUN_ID)
    assert openai_standin.requests == []


@pytest.mark.parametrize("hyperparameters, param", [
    ({"n_epochs": 60}, "n_epochs"), ({"batch_size": 512}, "batch_size"),
    ({"learning_rate_multiplier": -1}, "learning_rate_multiplier"),
])
def test_the_openai_standin_refuses_the_same_ranges_with_the_apis_error_shape(openai_standin, train_file,
                                                                              hyperparameters, param):
    import openai

    client = openai.OpenAI(api_key=openai_standin.api_key, base_url=openai_standin.base_url, max_retries=0)
    file_id = client.files.create(file=("t.jsonl", train_file.read_bytes()), purpose="fine-tune").id
    assert client.files.retrieve(file_id).id == file_id
    with pytest.raises(openai.BadRequestError) as info:
        client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file_id,
                                       method={"type": "supervised", "supervised": {"hyperparameters": hyperparameters}})
    error = info.value.body
    assert error["type"] == "invalid_request_error" and error["param"].endswith(param) and error["message"]
    assert openai_standin.jobs == {}


def test_auto_epochs_at_the_standin_depend_on_the_example_count(openai_standin, tmp_path):
    trainer = make(harness("openai", openai_standin))
    for n, expected in ((12, 8), (40, 3)):
        path = write_examples(tmp_path / f"golden-{n}.jsonl", n)
        prepared = trainer.prepare_data(path, run_id=f"run-{n}")
        job_id = trainer.start_training(prepared, run_id=f"run-{n}")
        assert openai_standin.jobs[job_id]["hyperparameters"]["n_epochs"] == expected == prepared.estimate.n_epochs


def test_a_spent_quota_is_not_retried(openai_standin, train_file):
    openai_standin.exhaust_quota()
    with pytest.raises(QuotaExhaustedError, match="quota or credit is spent") as info:
        make(harness("openai", openai_standin), max_retries=5).prepare_data(train_file, run_id=RUN_ID)
    # The shutdown date's read met the spent quota first: advisory, so neither retried nor fatal.
    sent = [r.path for r in openai_standin.requests if not r.path.startswith("/v1/models/")]
    assert len(sent) == 1 and exit_code_for_error(info.value) == 1


# ----- Azure, Together, Fireworks specifics ---------------------------------------------------
def test_azure_speaks_azures_dialect(azure_standin, train_file):
    trainer = make(harness("azure", azure_standin))
    trainer.start_training(trainer.prepare_data(train_file, run_id=RUN_ID), run_id=RUN_ID)
    assert all(r.query.get("api-version") == "2024-10-21" and r.headers.get("api-key") == azure_standin.api_key
               and "authorization" not in r.headers for r in azure_standin.requests)
    (create,) = azure_standin.requests_to("POST", "/openai/fine_tuning/jobs")
    assert "metadata" not in create.json and create.json["model"] == "gpt-4o-mini-2024-07-18"


def test_azure_without_a_recorded_price_needs_one_in_the_config(azure_standin, train_file):
    trainer = make(harness("azure", azure_standin), prices={})
    with pytest.raises(Exception, match="no training price is recorded.*budget.prices"):
        trainer.prepare_data(train_file, run_id=RUN_ID)
    assert azure_standin.requests == []


def test_together_sends_its_training_method_and_type(together_standin, tmp_path):
    path = tmp_path / "pref.jsonl"
    path.write_text((json.dumps(PREFERENCE) + "\n") * 12, encoding="utf-8")
    trainer = make(harness("together", together_standin), method="dpo", beta=0.3, n_epochs=2, training_type="full")
    job_id = trainer.start_training(trainer.prepare_data(path, run_id=RUN_ID), run_id=RUN_ID)
    (create,) = harness("together", together_standin).requests_at("POST", "/v1/fine-tunes")
    body = create.json
    assert body["training_method"]["method"] == "dpo" and body["training_method"]["dpo_beta"] == 0.3
    assert body["training_type"]["type"] == "Full" and body["n_epochs"] == 2
    assert body["suffix"].startswith("vectortrainer-") and len(body["suffix"]) <= 40
    assert run_to_end(trainer, job_id) is TrainingStatus.SUCCEEDED


def test_together_refuses_a_suffix_without_room_for_the_run_tag_before_any_request(together_standin, train_file):
    with pytest.raises(HyperparameterError, match="training.suffix: 35 characters.*at most 31"):
        make(harness("together", together_standin), suffix="x" * 35).prepare_data(train_file, run_id=RUN_ID)
    assert together_standin.requests == []


def test_togethers_own_estimate_is_held_to_the_budget_before_the_job(together_standin, train_file):
    together_standin.price_per_million = 1_000_000.0  # Together's exact count says far more than ours
    trainer = make(harness("together", together_standin))
    prepared = trainer.prepare_data(train_file, run_id=RUN_ID)
    with pytest.raises(BudgetExceededError, match="exceeds the budget"):
        trainer.start_training(prepared, run_id=RUN_ID)
    assert together_standin.jobs == {}
    together_standin.price_per_million, together_standin.credit_limit = 0.5, 0.0
    with pytest.raises(QuotaExhaustedError, match="credit limit"):
        trainer.start_training(prepared, run_id=RUN_ID)
    assert together_standin.jobs == {}


def test_fireworks_refuses_fewer_than_three_examples_before_any_request(fireworks_standin, tmp_path):
    path = write_examples(tmp_path / "tiny.jsonl", 2)
    with pytest.raises(DataFormatError, match="2 training examples.*at least 3"):
        make(harness("fireworks", fireworks_standin)).prepare_data(path, run_id=RUN_ID)
    assert fireworks_standin.requests == []


def test_fireworks_dpo_job_carries_its_loss_config(fireworks_standin, tmp_path):
    path = tmp_path / "pref.jsonl"
    path.write_text((json.dumps(PREFERENCE) + "\n") * 5, encoding="utf-8")
    trainer = make(harness("fireworks", fireworks_standin), method="dpo", beta=0.1)
    job_id = trainer.start_training(trainer.prepare_data(path, run_id=RUN_ID), run_id=RUN_ID)
    (create,) = fireworks_standin.requests_to("POST", f"/v1/accounts/{fireworks_standin.account}/dpoJobs")
    assert create.query["dpoJobId"] == job_id
    assert create.json["lossConfig"] == {"method": "DPO", "dpo": {"beta": 0.1}}
    assert create.json["trainingConfig"]["baseModel"] == "accounts/fireworks/models/llama-v3p1-8b-instruct"
    assert run_to_end(trainer, job_id) is TrainingStatus.SUCCEEDED
    assert trainer.get_result(job_id).model_name.startswith(f"accounts/{fireworks_standin.account}/models/")
