"""The model's shutdown date as OpenAI's models endpoint reports it (issue 26, part 4), against the
loopback stand-in with the real openai client: a model the endpoint says is shut down is refused
before any upload or job; an endpoint with no date, or one that fails, leaves the catalogue's date
in force and the run goes on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.support.openai_standin import FIELD_ABSENT, OpenAIStandIn
from tests.support.pipelines import copy_run, make_config
from tests.support.trainers import run_to_end, write_examples
from vectortrainer.cli.exit_codes import exit_code_for_error
from vectortrainer.errors import RetiredModelError
from vectortrainer.pipeline import TrainingPipeline
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.runs.directory import RunDirectory
from vectortrainer.runs.events import read_events
from vectortrainer.runs.monitor import PipelineMonitor
from vectortrainer.runs.status import RunStatus
from vectortrainer.training.azure import AzureOpenAITrainer
from vectortrainer.training.base import TrainingStatus
from vectortrainer.training.openai import OpenAITrainer

RUN_ID = "20261201-000000-shut"
MODEL = "gpt-4o-mini-2024-07-18"  # the catalogue: open until 2027-01-14
TODAY = dt.date(2026, 12, 1)  # the suite's day
YESTERDAY_UTC = int(dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone.utc).timestamp())


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    return write_examples(tmp_path / "golden.jsonl", 12)


def make_trainer(standin: OpenAIStandIn, **overrides) -> OpenAITrainer:
    settings = dict(base_url=standin.base_url, api_key=standin.api_key, max_budget_usd=5.0, max_retries=3,
                    today=TODAY)
    settings.update(overrides)
    return OpenAITrainer(**settings)


def paths(standin: OpenAIStandIn) -> list[str]:
    return [f"{r.method} {r.path}" for r in standin.requests]


@pytest.mark.parametrize("reported", [
    "2026-11-30",  # what the API reference documents: a date
    "2026-12-01",  # the day itself: shut down
    YESTERDAY_UTC,  # a unix timestamp
    str(YESTERDAY_UTC),
    "2026-11-30T23:30:00-05:00",  # a date-time, read in UTC (2026-12-01 04:30)
])
def test_a_model_the_endpoint_says_is_shut_down_is_refused_before_any_upload_or_job(openai_standin, train_file,
                                                                                     reported):
    openai_standin.report_shutdown(MODEL, reported)
    trainer = make_trainer(openai_standin)
    with pytest.raises(RetiredModelError) as info:
        trainer.prepare_data(train_file, run_id=RUN_ID)

    message = str(info.value)
    assert MODEL in message and "retired on 2026-1" in message
    assert f"OpenAI's models endpoint (GET /v1/models/{MODEL}): shutdown_date" in message
    assert "Nothing was uploaded" in message and "training.model" in message
    assert "`vectortrainer providers`" in message and exit_code_for_error(info.value) == 2
    assert paths(openai_standin) == [f"GET /v1/models/{MODEL}"]  # no upload, no job: only the read
    assert openai_standin.files == {} and openai_standin.jobs == {}


def test_a_resumed_run_asks_again_before_it_creates_its_job(openai_standin, train_file):
    prepared = make_trainer(openai_standin).prepare_data(train_file, run_id=RUN_ID)
    openai_standin.report_shutdown(MODEL, "2026-11-30")  # ...and the process died before the job

    with pytest.raises(RetiredModelError, match="retired on 2026-11-30.*No job was created"):
        make_trainer(openai_standin).start_training(prepared, run_id=RUN_ID)
    assert openai_standin.jobs == {} and openai_standin.requests_to("POST", "/v1/fine_tuning/jobs") == []


@pytest.mark.parametrize("reported, said", [
    (FIELD_ABSENT, "gave no shutdown_date"),
    (None, "gave no shutdown_date"),  # null: not announced
    ("soon", "shutdown_date='soon', not a date"),
])
def test_without_a_date_from_the_endpoint_the_catalogue_decides(openai_standin, train_file, reported, said):
    openai_standin.report_shutdown(MODEL, reported)
    trainer = make_trainer(openai_standin)
    job_id = trainer.start_training(trainer.prepare_data(train_file, run_id=RUN_ID), run_id=RUN_ID)

    assert run_to_end(trainer, job_id) is TrainingStatus.SUCCEEDED
    read = trainer.reported_shutdown()
    assert read is not None and read.on is None
    assert read.source.startswith("from the catalogue") and said in read.source
    assert len(openai_standin.requests_to("GET", "/v1/models/")) == 1  # read once per trainer
    # The catalogue still refuses what it knows is shut down, before any request (the provider's
    # cutoff moved out of the way by the config).
    openai_standin.requests.clear()
    with pytest.raises(RetiredModelError, match="retired on 2027-01-14.*OpenAI deprecations page"):
        make_trainer(openai_standin, today=dt.date(2027, 1, 14),
                     schedule={"openai": "2027-12-31"}).prepare_data(train_file, run_id=RUN_ID)
    assert openai_standin.requests == []


@pytest.mark.parametrize("status", [500, 404, 429])
def test_an_endpoint_that_fails_leaves_the_catalogue_and_the_run_proceeds(openai_standin, train_file, status):
    openai_standin.inject_errors(status, 1, method="GET", path_prefix="/v1/models/")
    trainer = make_trainer(openai_standin)
    job_id = trainer.start_training(trainer.prepare_data(train_file, run_id=RUN_ID), run_id=RUN_ID)

    assert run_to_end(trainer, job_id) is TrainingStatus.SUCCEEDED
    read = trainer.reported_shutdown()
    assert read is not None and read.on is None and f"failed (HTTP {status})" in read.source
    assert "from the catalogue" in read.news
    assert len(openai_standin.requests_to("GET", "/v1/models/")) == 1  # advisory: never retried


def test_a_later_date_from_the_endpoint_is_used_and_said(openai_standin, train_file):
    openai_standin.report_shutdown(MODEL, "2027-03-01")
    trainer = make_trainer(openai_standin)
    trainer.prepare_data(train_file, run_id=RUN_ID)
    read = trainer.reported_shutdown()
    assert read is not None and read.on == dt.date(2027, 3, 1)
    assert read.news == (f"{MODEL} shuts down on 2027-03-01 (OpenAI's models endpoint "
                         f"(GET /v1/models/{MODEL}): shutdown_date)")


def test_no_key_no_read(openai_standin, monkeypatch):
    monkeypatch.delenv("VT_TEST_NO_KEY", raising=False)
    trainer = make_trainer(openai_standin, api_key=None, api_key_env="VT_TEST_NO_KEY")
    assert trainer.reported_shutdown() is None and openai_standin.requests == []


def test_azure_reads_no_date(azure_standin):
    trainer = AzureOpenAITrainer(endpoint=azure_standin.base_url, api_key=azure_standin.api_key,
                                 prices={MODEL: 3.0})
    assert trainer.reported_shutdown() is None and azure_standin.requests == []


# ----- through a whole run (the session's template run, stopped at the cost confirmation) --------
@pytest.mark.slow
def test_a_run_the_endpoint_refuses_stops_before_its_upload(template, standin_env, tmp_path):

    standin_env.report_shutdown(MODEL, "2026-11-30")
    config = make_config(tmp_path, tmp_path / "unused-store", standin_env.base_url)
    run_id = copy_run(template, config.output_dir)

    with pytest.raises(RetiredModelError, match="retired on 2026-11-30"):
        TrainingPipeline(config, confirm=lambda e: True).resume(run_id)

    assert paths(standin_env) == [f"GET /v1/models/{MODEL}"]
    run = RunDirectory.open(config.output_dir, run_id)
    assert run.state.status == RunStatus.FAILED and "OpenAI's models endpoint" in run.state.error
    assert run.state.stage("upload").status != "complete" and not run.state.train_file_id


@pytest.mark.slow
def test_a_model_whose_base_shut_down_while_it_trained_is_kept_not_promoted(template, standin_env, tmp_path):

    class DiesAfterTraining(PipelineMonitor):
        def on_stage_complete(self, stage, *, result=None, duration_s=None, skipped=False):
            if stage == "monitor":
                raise RuntimeError("died once the job was over")

    config = make_config(tmp_path, tmp_path / "unused-store", standin_env.base_url)
    run_id = copy_run(template, config.output_dir)
    with pytest.raises(RuntimeError, match="died once the job was over"):
        TrainingPipeline(config, monitor=DiesAfterTraining(), confirm=lambda e: True).resume(run_id)
    logged = [e["message"] for e in read_events(config.output_dir / "runs" / run_id / "events.jsonl")
              if e["type"] == "log" and e.get("stage") == "upload"]
    assert any(f"shutdown date of {MODEL}: from the catalogue" in line for line in logged)

    standin_env.report_shutdown(MODEL, "2026-12-01")  # announced, and today, while the job ran
    outcome = TrainingPipeline(config, confirm=lambda e: True).resume(run_id)

    assert outcome.status == RunStatus.NOT_PROMOTED, outcome.message
    assert f"its base model {MODEL} shut down on 2026-12-01" in outcome.message
    assert "models promote" not in outcome.message  # it would be refused
    function = RunDirectory.open(config.output_dir, run_id).state.function
    (entry,) = ModelRegistry(config.models.dir, function).list()
    assert not entry.promoted and entry.base_shutdown["on"] == "2026-12-01"
    assert standin_env.requests_to("POST", "/v1/chat/completions") == []  # not judged: it cannot answer
