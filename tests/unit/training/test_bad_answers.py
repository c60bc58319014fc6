"""One bad answer never poisons a run (issue 29, finding 4).

Every hosted trainer, through its real SDK, against its stand-in misbehaving on purpose
(``tests/support/loopback.py``: ``answer_raw``, ``alter_answers``, ``dribble``):

- an HTML page with status 200, or ``{}``, where an upload's or a job's answer is due: one
  line naming the provider and what it answered; nothing of it is returned (so nothing is
  saved to run.json), and the next try against a healthy server works with one file and
  one job;
- a job whose status reads null, or a word the provider does not document, even after it
  finished: the follower gives up after ``MAX_UNKNOWN_POLLS`` polls in a row with one line,
  and a resume follows the same job to its model (no second job);
- a server that sends its answer a few bytes at a time: ``timeout_s`` bounds the whole call,
  not each read;
- a job listing with a null ``created_at`` and events with a null ``created_at``: one line,
  or a timeless event, never a ``TypeError``.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.openai_standin import OpenAIStandIn
from tests.support.pipelines import config_file, copy_run
from tests.support.providers import Harness, harness
from tests.support.trainers import run_to_end, write_examples
from vectortrainer.cli import main
from vectortrainer.config import load_config
from vectortrainer.errors import ConfigError, ProviderAnswerError, TrainerAPIError
from vectortrainer.runs.directory import RunDirectory
from vectortrainer.runs.monitor import PipelineMonitor
from vectortrainer.training.base import BaseTrainer, TrainingStatus
from vectortrainer.training.factory import HOSTED_TRAINERS
from vectortrainer.training.following import MAX_UNKNOWN_POLLS, JobFollower

RUN_ID = "20261201-000000-bad"
HTML = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
BODIES = {"html": (HTML, "text/html; charset=utf-8"), "empty object": ("{}", "application/json")}


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    return write_examples(tmp_path / "golden.jsonl", 12)


def make(chosen: Harness, **overrides: Any) -> BaseTrainer:
    settings = {**chosen.settings, "max_budget_usd": 5.0, "max_retries": 0, **overrides}
    return HOSTED_TRAINERS[chosen.name](**settings)


def upload_answer_path(chosen: Harness) -> dict[str, str]:
    """Where the answer that names the uploaded file comes from, per provider."""
    if chosen.name == "together":  # the file is named by the answer to its preprocessing
        return {"method": "POST", "path_prefix": "/v1/files/"}
    return {"method": "POST", "path": chosen.upload_path}


def one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text and "Traceback" not in text, text
    return text


# ----- an answer that is no file or job ----------------------------------------------------
@pytest.mark.parametrize("kind", sorted(BODIES))
def test_a_page_or_an_empty_object_for_an_upload_is_refused_and_the_next_try_works(provider, train_file,
                                                                                   kind):
    body, content_type = BODIES[kind]
    provider.standin.answer_raw(body, content_type=content_type, **upload_answer_path(provider))

    with pytest.raises(ProviderAnswerError) as info:
        make(provider).prepare_data(train_file, run_id=RUN_ID)

    message = one_line(info.value)
    assert provider.title in message and "nothing of it was saved" in message
    if provider.name == "together":  # its SDK reads the answer itself and says why it cannot
        assert "answered something its SDK cannot read" in message
    else:
        assert ("HTML page" in message and "502 Bad Gateway" in message) if kind == "html" else "{}" in message
    assert "prepare_data" not in message
    # the server answers as its API does again: one file, one job, a trained model
    trainer = make(provider)
    prepared = trainer.prepare_data(train_file, run_id=RUN_ID)
    job_id = trainer.start_training(prepared, run_id=RUN_ID)
    assert run_to_end(trainer, job_id) is TrainingStatus.SUCCEEDED
    assert provider.jobs == 1


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_a_page_or_an_empty_object_for_a_job_creation_is_refused_and_no_id_comes_back(provider, train_file,
                                                                                      kind):
    trainer = make(provider)
    prepared = trainer.prepare_data(train_file, run_id=RUN_ID)
    body, content_type = BODIES[kind]
    provider.standin.answer_raw(body, content_type=content_type, method="POST", path=provider.job_path)

    with pytest.raises(ProviderAnswerError) as info:
        trainer.start_training(prepared, run_id=RUN_ID)

    assert provider.title in one_line(info.value) and provider.jobs == 0
    job_id = make(provider).start_training(prepared, run_id=RUN_ID)
    assert run_to_end(trainer, job_id) is TrainingStatus.SUCCEEDED and provider.jobs == 1


def test_an_empty_listing_is_not_taken_for_no_files(openai_standin: OpenAIStandIn, train_file):
    """``{}`` in place of the file listing is no listing: uploading again on it would upload
    twice, and the same answer for the jobs would pay twice."""
    settings = dict(base_url=openai_standin.base_url, api_key=openai_standin.api_key, max_retries=0)
    openai_standin.answer_raw("{}", content_type="application/json", method="GET", path="/v1/files")
    with pytest.raises(ProviderAnswerError, match="OpenAI answered the listing of uploaded files with {}"):
        HOSTED_TRAINERS["openai"](**settings).prepare_data(train_file, run_id=RUN_ID)
    assert openai_standin.requests_to("POST", "/v1/files") == []


@pytest.mark.slow
def test_a_page_on_upload_leaves_run_json_clean_and_the_resume_trains(template, openai_standin, tmp_path,
                                                                     capsys, monkeypatch):
    """The audit's case through ``--batch``: the page was saved as the file id and every later resume
    failed with 400. Now the run stops with one line and the resume uploads and trains."""
    monkeypatch.setenv("OPENAI_API_KEY", openai_standin.api_key)
    config = config_file(tmp_path, openai_standin.base_url)
    run_id = copy_run(template, tmp_path / "out")
    openai_standin.answer_raw(HTML, method="POST", path="/v1/files")

    code = main(["--batch", "--config", str(config), "--json", "--resume", run_id])
    err = capsys.readouterr().err

    assert code != 0
    state = json.loads((tmp_path / "out" / "runs" / run_id / "run.json").read_text(encoding="utf-8"))
    assert state["train_file_id"] is None and state["job_id"] is None
    assert "OpenAI answered the upload of the training file with an HTML page" in err
    assert "Traceback" not in err

    code = main(["--batch", "--config", str(config), "--json", "--resume", run_id])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    run = RunDirectory.open(tmp_path / "out", run_id)
    assert run.state.train_file_id in openai_standin.files and len(openai_standin.jobs) == 1


# ----- a status that is none the provider documents -----------------------------------------
STATUS_FIELD = {"openai": "status", "azure": "status", "together": "status", "fireworks": "state"}


def job_status_reads(chosen: Harness, value: Any) -> None:
    """Every answer about a job (its retrieve) says ``value`` for its status from now on."""
    field = STATUS_FIELD[chosen.name]

    def change(body: Any) -> Any:
        if isinstance(body, dict) and field in body:
            body[field] = value
        return body

    chosen.standin.alter_answers(change, method="GET", path_prefix=chosen.job_path + "/")


def follow(trainer: BaseTrainer, job_id: str, *, give_up_after_s: float = 20.0):
    """The job followed as a run does, at no poll interval; the run is cancelled after
    ``give_up_after_s`` (what an endless poll would reach)."""
    cancelled = threading.Event()
    timer = threading.Timer(give_up_after_s, cancelled.set)
    timer.start()
    try:
        follower = JobFollower(trainer, PipelineMonitor(), poll_interval_s=0.0, max_minutes=None,
                               cancelled=cancelled)
        return follower.follow(job_id, started=time.time(), after=None, save_event_id=lambda _: None)
    finally:
        timer.cancel()


@pytest.mark.parametrize("value", [None, "reticulating_splines"])
def test_a_null_or_unknown_status_ends_after_a_bounded_number_of_polls(provider, train_file, value):
    trainer = make(provider)
    job_id = trainer.start_training(trainer.prepare_data(train_file, run_id=RUN_ID), run_id=RUN_ID)
    job_status_reads(provider, value)

    started = time.monotonic()
    with pytest.raises(ProviderAnswerError) as info:
        follow(trainer, job_id)

    message = one_line(info.value)
    assert time.monotonic() - started < 15
    assert f"in {MAX_UNKNOWN_POLLS} polls in a row" in message and job_id in message
    assert ("null" if value is None else repr(value)) in message
    assert "no other job was created" in message and provider.jobs == 1
    # the job went on (it finished while its status read null): a resume follows it to its model
    provider.standin.behave()
    result = follow(make(provider), job_id)
    assert result.status is TrainingStatus.SUCCEEDED and result.model_name and provider.jobs == 1


# ----- a slow answer ------------------------------------------------------------------------
@pytest.mark.parametrize("retries", [0, 1])
def test_timeout_s_bounds_the_whole_call_not_each_read(provider, train_file, retries):
    trainer = make(provider, timeout=1.0, max_retries=retries)
    job_id = trainer.start_training(trainer.prepare_data(train_file, run_id=RUN_ID), run_id=RUN_ID)
    # a few hundred bytes at 40 bytes a second: every read returns well within the SDK's timeout,
    # the whole answer takes 10 s or more
    provider.standin.dribble(40, method="GET", count=None)

    started = time.monotonic()
    with pytest.raises(TrainerAPIError) as info:
        trainer.get_status(job_id)
    took = time.monotonic() - started

    assert took < 1.0 * (retries + 1) + 2.0, took  # each try within its second, plus the back-off
    message = one_line(info.value)
    assert f"{provider.name}.timeout_s" in message and provider.title in message


@pytest.mark.parametrize("value", [float("nan"), -1, 0])
def test_a_timeout_that_is_no_positive_number_is_refused(tmp_path, value):
    path = tmp_path / "config.yaml"
    path.write_text(f"openai:\n  timeout_s: {'.nan' if value != value else value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="openai.timeout_s"):
        load_config(path)


# ----- null created_at ----------------------------------------------------------------------
def null_created_at(body: Any) -> Any:
    items = body.get("data") if isinstance(body, dict) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            item["created_at"] = None
    return body


@pytest.mark.parametrize("name", ["openai", "azure", "together"])
def test_two_jobs_of_a_run_without_created_at_are_one_clear_line(name, train_file, request):
    chosen = harness(name, request.getfixturevalue(f"{name}_standin"))
    trainer = make(chosen)
    prepared = trainer.prepare_data(train_file, run_id=RUN_ID)
    trainer.start_training(prepared, run_id=RUN_ID, reuse_existing=False)
    trainer.start_training(prepared, run_id=RUN_ID, reuse_existing=False)
    chosen.standin.alter_answers(null_created_at, method="GET", path=chosen.job_path)

    with pytest.raises(ProviderAnswerError) as info:
        trainer.start_training(prepared, run_id=RUN_ID)

    message = one_line(info.value)
    assert "without a created_at" in message and chosen.title in message and "nothing was created" in message
    assert chosen.jobs == 2


def test_events_without_created_at_are_events_without_a_time(openai_standin: OpenAIStandIn, train_file):
    trainer = HOSTED_TRAINERS["openai"](base_url=openai_standin.base_url, api_key=openai_standin.api_key)
    job_id = trainer.start_training(trainer.prepare_data(train_file, run_id=RUN_ID), run_id=RUN_ID)
    run_to_end(trainer, job_id)
    openai_standin.alter_answers(null_created_at, method="GET", path_prefix="/v1/fine_tuning/jobs/")

    events = list(trainer.events(job_id))

    assert events and all(event.created_at is None for event in events)
    assert trainer.get_result(job_id).status is TrainingStatus.SUCCEEDED
