"""`--batch` on every hosted provider: a trained model, kill and resume with one job, and each stop's exit code.

Each test resumes a copy of a real run of the seeded store (stopped at the cost
confirmation, see ``tests.support.pipelines``) with ``training.provider`` set to one
provider, its stand-in behind the real SDK. Crashes are simulated at the exact point,
then a *fresh* pipeline resumes, as a new process would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.openai_standin import OpenAIStandIn
from tests.support.pipelines import config_file, copy_run, make_config
from tests.support.providers import harness
from vectortrainer.cli import main
from vectortrainer.pipeline import TrainingPipeline
from vectortrainer.runs.directory import RunDirectory
from vectortrainer.runs.status import RunStatus
from vectortrainer.training.factory import HOSTED_TRAINERS

pytestmark = pytest.mark.slow
OUT_OF_RANGE = {"openai": ("n_epochs", 60), "azure": ("batch_size", 512), "together": ("n_epochs", 21),
                "fireworks": ("n_epochs", 101)}


class SimulatedCrash(Exception):
    """Stands for the process dying at a chosen point."""


def _batch(capsys, config, *argv: str) -> tuple[int, dict, str]:
    code = main(["--batch", "--config", str(config), "--json", *argv])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def _resume_in_batch(capsys: pytest.CaptureFixture[str], template: Path, tmp_path: Path,
                     sections: dict[str, dict[str, Any]], *argv: str) -> tuple[int, dict, str]:
    """`--batch --resume` of a copy of the template run (estimated again), with ``sections``."""
    config = config_file(tmp_path, **sections)
    run_id = copy_run(template, tmp_path / "out", estimate_again=True)
    return _batch(capsys, config, "--resume", run_id, *argv)


def _openai_batch_on(today: str, template: Path, openai_standin: OpenAIStandIn, tmp_path: Path,
                     capsys: pytest.CaptureFixture[str],
                     monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict, str]:
    """A `--batch` run (as :func:`_resume_in_batch`) with OpenAI on the day ``today``."""
    monkeypatch.setenv("OPENAI_API_KEY", openai_standin.api_key)
    monkeypatch.setenv("VECTORTRAINER_TODAY", today)
    return _resume_in_batch(capsys, template, tmp_path, harness("openai", openai_standin).sections)


def test_a_batch_run_trains_a_model_and_names_the_provider(template, provider, tmp_path, capsys):
    config = config_file(tmp_path, **provider.sections)
    run_id = copy_run(template, tmp_path / "out", estimate_again=True)

    code, report, err = _batch(capsys, config, "--resume", run_id)

    assert code == 0, err
    summary = report["summary"]
    assert summary["training"]["provider"] == provider.name and summary["training"]["fine_tuned_model"]
    assert report["estimate"]["provider"] == provider.name
    assert provider.title in err  # the summary table names it
    assert provider.uploads == 1 and provider.job_creations == 1 and provider.jobs == 1
    run_dir = tmp_path / "out" / "runs" / run_id
    written = "".join(path.read_text(encoding="utf-8", errors="replace") for path in run_dir.rglob("*")
                      if path.is_file())
    assert provider.standin.api_key not in written and provider.standin.api_key not in err


@pytest.mark.parametrize("dies_in", ["prepare_data", "start_training"])
def test_killed_after_upload_or_job_creation_a_resume_pays_for_exactly_one_job(template, provider, tmp_path,
                                                                               dies_in):
    base = HOSTED_TRAINERS[provider.name]

    class Dies(base):  # type: ignore[misc, valid-type]
        def prepare_data(self, *args, **kwargs):
            prepared = super().prepare_data(*args, **kwargs)
            if dies_in == "prepare_data":
                raise SimulatedCrash("died before saving the file id")
            return prepared

        def start_training(self, prepared, *, run_id, reuse_existing=True):
            super().start_training(prepared, run_id=run_id, reuse_existing=reuse_existing)
            raise SimulatedCrash("died before saving the job id")

    config = make_config(tmp_path, tmp_path / "unused-store", **provider.sections)
    run_id = copy_run(template, config.output_dir, estimate_again=True)
    with pytest.raises(SimulatedCrash):
        TrainingPipeline(config, trainer=Dies.from_config(config), confirm=lambda e: True).resume(run_id)
    state = RunDirectory.open(config.output_dir, run_id).state
    assert state.job_id is None and provider.uploads == 1
    assert provider.jobs == (1 if dies_in == "start_training" else 0)

    outcome = TrainingPipeline(config, confirm=lambda e: True).resume(run_id)

    assert outcome.status == RunStatus.SUCCEEDED, outcome.message
    assert provider.uploads == 1 and provider.job_creations == 1 and provider.jobs == 1
    assert RunDirectory.open(config.output_dir, run_id).state.fine_tuned_model


def test_a_budget_breach_exits_3_with_zero_requests(template, provider, tmp_path, capsys):
    code, report, err = _resume_in_batch(capsys, template, tmp_path, provider.sections,
                                         "--max-budget", "0.0000001")

    assert code == 3, err
    assert report["status"] == "budget_exceeded" and "exceeds the budget" in report["message"]
    assert provider.standin.requests == []


def test_an_out_of_range_setting_exits_2_with_zero_requests(template, provider, tmp_path, capsys):
    key, value = OUT_OF_RANGE[provider.name]
    sections = provider.with_training(**{key: value})
    code, report, err = _resume_in_batch(capsys, template, tmp_path, sections)

    assert code == 2, err
    assert f"training.{key}" in report["message"] and provider.title in report["message"]
    assert provider.standin.requests == []


# Every hosted provider serves its models to the gate now: Azure deploys them
# (tests/integration/test_azure_gate.py), Together serves them (tests/integration/test_together_gate.py),
# Fireworks loads the LoRA onto a deployment (tests/integration/test_fireworks_gate.py). A trainer that
# cannot answer prompts is refused before any request (tests/integration/test_openai_trainer.py).


def test_a_failed_job_exits_4(template, provider, tmp_path, capsys):
    provider.fail_next_job("the provider could not read the training file")
    code, report, err = _resume_in_batch(capsys, template, tmp_path, provider.sections)

    assert code == 4, err
    assert report["status"] == "training_failed"
    assert "the provider could not read the training file" in report["message"]
    assert provider.jobs == 1


def test_past_openais_cutoff_a_batch_run_exits_2_naming_the_alternatives(template, openai_standin, tmp_path,
                                                                         capsys, monkeypatch):
    code, report, err = _openai_batch_on("2027-01-07", template, openai_standin, tmp_path, capsys,
                                         monkeypatch)

    assert code == 2, err
    assert "OpenAI creates no new fine-tuning jobs after 2027-01-06" in report["message"]
    assert "training.provider: azure | together | fireworks | local" in report["message"]
    assert openai_standin.requests == []


def test_within_30_days_of_the_cutoff_the_estimate_warns(template, openai_standin, tmp_path, capsys, monkeypatch):
    code, report, err = _openai_batch_on("2026-12-20", template, openai_standin, tmp_path, capsys,
                                         monkeypatch)

    assert code == 0, err
    warnings = report["estimate"]["warnings"]
    assert any("no new fine-tuning jobs after 2027-01-06 (in 17 days)" in w for w in warnings)
    assert any("shut down on 2027-01-14 (in 25 days)" in w for w in warnings)
    assert "in 17 days" in " ".join(err.split())  # the dashboard's log shows it too
