"""VT-18: a run trains its function only on that function's data, says where the data came from, and refuses
before any work what cannot work (a key, a model, a local model, a gate the trainer cannot serve).

The logs come from the TUI's fixture source wrapped to count reads: "before any work" means the store was never
read and no run directory was made.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.pipelines import make_config
from tests.support.tui_fixtures import FixtureLogSource, write_chatml
from tests.unit.test_pipeline_estimate import EstimateOnly, dollars
from vectortrainer.errors import (
    ConfigError,
    InferenceNotAvailableError,
    MissingAPIKeyError,
    UnknownModelError,
)
from vectortrainer.files import sha256_file
from vectortrainer.pipeline import TrainingPipeline
from vectortrainer.runs.directory import RunDirectory, list_runs
from vectortrainer.runs.golden import write_export_record
from vectortrainer.runs.status import RunStatus
from vectortrainer.store.source import ProgressCallback

FUNCTION = "answer_support_ticket"  # the fixture source's
OTHER = "summarise_invoice"


class CountingSource(FixtureLogSource):
    """The fixture logs; counts every read of a function's logs."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def read_function(self, name: str, progress: ProgressCallback | None = None):
        self.reads.append(name)
        return super().read_function(name, progress)


def config_for(tmp_path: Path, function: str = FUNCTION, **sections):
    sections.setdefault("gate", {"enabled": False})
    return make_config(tmp_path, tmp_path / "no-store", selection={"function": function}, **sections)


def declined_run(tmp_path: Path, **sections):
    """A run of FUNCTION that extracted its own golden data and stopped at the confirmation."""
    config = config_for(tmp_path, **sections)
    outcome = TrainingPipeline(config, source=CountingSource(), trainer=EstimateOnly(dollars(0.5)),
                               confirm=lambda e: False).run()
    assert outcome.status == RunStatus.NOT_APPROVED, outcome.message
    return config, RunDirectory.open(config.output_dir, outcome.run_id)


# ---- provenance -------------------------------------------------------------------------------------------
def test_run_json_records_the_function_the_hash_and_where_extracted_data_came_from(tmp_path):
    _, run = declined_run(tmp_path)
    provenance = run.state.provenance
    assert provenance["function"] == FUNCTION and provenance["origin"] == "extract"
    assert provenance["sha256"] == sha256_file(run.golden_path)
    assert "extracted by the run from the logs of answer_support_ticket" in provenance["source"]
    assert json.loads((run.path / "run.json").read_text())["provenance"] == provenance


def test_an_adopted_export_is_recorded_with_its_function_hash_and_path(tmp_path):
    config = config_for(tmp_path)
    golden = write_chatml(tmp_path / "golden-answer_support_ticket.jsonl", 6)
    write_export_record(golden, FUNCTION)

    outcome = TrainingPipeline(config, trainer=EstimateOnly(dollars(0.5)), confirm=lambda e: False).run(
        golden_path=golden)

    run = RunDirectory.open(config.output_dir, outcome.run_id)
    assert run.state.provenance["function"] == FUNCTION and run.state.provenance["origin"] == "export"
    assert run.state.provenance["sha256"] == sha256_file(golden) == sha256_file(run.golden_path)
    assert str(golden) in run.state.provenance["source"]


def test_golden_data_of_another_function_is_refused_before_the_run_is_created(tmp_path):
    """The reported bug: an export of one function trained a model of another."""
    config = config_for(tmp_path)
    other = write_chatml(tmp_path / "golden-summarise_invoice.jsonl", 12)
    write_export_record(other, OTHER)
    trainer = EstimateOnly(dollars(0.5))

    with pytest.raises(ConfigError, match="golden data of summarise_invoice.*this run trains answer_support_ticket"):
        TrainingPipeline(config, trainer=trainer, confirm=lambda e: False).run(golden_path=other)

    assert list_runs(config.output_dir) == []


def test_a_run_resumes_only_under_its_own_function(tmp_path):
    config, run = declined_run(tmp_path)
    elsewhere = config.with_overrides(**{"selection.function": OTHER})
    source = CountingSource()

    with pytest.raises(ConfigError, match=f"run {run.run_id} trains answer_support_ticket, but summarise_invoice is "
                                          "selected.*--function answer_support_ticket"):
        TrainingPipeline(elsewhere, source=source, trainer=EstimateOnly(dollars(0.5)),
                         confirm=lambda e: True).resume(run.run_id)

    assert source.reads == []
    assert RunDirectory.open(config.output_dir, run.run_id).state.status == RunStatus.NOT_APPROVED
    # Without a function chosen (or with its own) it resumes as before.
    unnamed = config.with_overrides(**{"selection.function": FUNCTION})
    again = TrainingPipeline(unnamed, trainer=EstimateOnly(dollars(0.5)), confirm=lambda e: False).resume(run.run_id)
    assert again.status == RunStatus.NOT_APPROVED


# ---- checks before work ------------------------------------------------------------------------------------
def refused_before_work(config, error, match, **pipeline):
    source = CountingSource()
    with pytest.raises(error, match=match):
        TrainingPipeline(config, source=source, confirm=lambda e: True, **pipeline).run()
    assert source.reads == [], "the store was read before the run was refused"
    assert list_runs(config.output_dir) == [], "a run directory was made for a run that cannot work"


def test_a_local_run_without_a_model_is_refused_before_extraction(tmp_path):
    config = config_for(tmp_path, training={"provider": "local", "local_model": None},
                        budget={"max_budget_usd": None, "max_minutes": 30})
    refused_before_work(config, ConfigError, "training.local_model: not set")


def test_a_local_model_path_that_is_no_model_directory_is_refused_before_extraction(tmp_path):
    (tmp_path / "not-a-model").mkdir()
    config = config_for(tmp_path, training={"provider": "local", "local_model": str(tmp_path / "not-a-model")},
                        budget={"max_budget_usd": None, "max_minutes": 30})
    refused_before_work(config, ConfigError, "has no config.json")


def test_a_hosted_run_without_its_key_is_refused_before_extraction(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    refused_before_work(config_for(tmp_path), MissingAPIKeyError, "set the OPENAI_API_KEY environment variable")


def test_a_model_with_no_known_price_is_refused_before_extraction(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-sent")
    config = config_for(tmp_path, training={"model": "gpt-nobody-trains-this"})
    refused_before_work(config, UnknownModelError, "gpt-nobody-trains-this")


def test_a_gate_the_trainer_cannot_serve_is_refused_before_extraction(tmp_path):
    config = config_for(tmp_path, gate={"enabled": True})
    refused_before_work(config, InferenceNotAvailableError, "cannot answer prompts",
                        trainer=EstimateOnly(dollars(0.5)))
