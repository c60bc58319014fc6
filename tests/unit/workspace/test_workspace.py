"""The application layer's use cases: the store opened the way the whole config says, the one
approval policy, what a run would train, and select / export / record through one ``Workspace``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.tui_fixtures import FixtureLogSource
from vectortrainer.budget.approval import unattended_approval
from vectortrainer.budget.estimates import CostEstimate, TimeEstimate
from vectortrainer.config import Config
from vectortrainer.errors import ConfigError, StoreError
from vectortrainer.settings import SelectionSettings
from vectortrainer.store.environment import EXECUTION_COLLECTION
from vectortrainer.workspace import Workspace


def _config(tmp_path: Path, **density: str) -> Config:
    config = Config().with_overrides(**{
        "store.path": tmp_path / "store", "output_dir": tmp_path / "out",
        "feedback.path": tmp_path / "feedback.jsonl", "hooks.dir": tmp_path / "hooks",
        "models.dir": tmp_path / "models",
        **{f"density.{key}": value for key, value in density.items()},
    })
    return config


def _empty_store(tmp_path: Path) -> None:
    (tmp_path / "store" / "lance" / f"{EXECUTION_COLLECTION}.lance").mkdir(parents=True)


def test_the_store_is_opened_once_with_the_configured_density_backend(tmp_path: Path) -> None:
    _empty_store(tmp_path)
    workspace = Workspace(_config(tmp_path, backend="ray", ray_address="ray://head:10001"))
    source = workspace.open_store()
    assert source.backend == "ray"
    assert source._reader.address == "ray://head:10001"  # type: ignore[attr-defined]
    assert workspace.open_store() is source
    local = Workspace(_config(tmp_path)).open_store()
    assert local.backend != "ray"


def test_a_missing_store_is_one_error_that_names_the_path_and_the_fix(tmp_path: Path) -> None:
    workspace = Workspace(_config(tmp_path))
    assert not workspace.store_exists()
    with pytest.raises(StoreError, match=r"no VectorWave store at .*store.*demo seed"):
        workspace.list_functions()


def _cost(usd: float) -> CostEstimate:
    return CostEstimate(model="gpt-4o-mini-2024-07-18", base_model="gpt-4o-mini-2024-07-18",
                        encoding="o200k_base", n_examples=20, tokens_per_epoch=1000,
                        n_epochs=3, price_per_million=3.0, estimated_usd=usd, budget_usd=None,
                        within_budget=True)


def test_unattended_approval_holds_a_vendor_run_to_todays_budget_or_asks_for_yes() -> None:
    within = unattended_approval(max_budget_usd=1.0)(_cost(0.5))
    over = unattended_approval(max_budget_usd=1.0)(_cost(2.0))
    no_budget = unattended_approval(max_budget_usd=None)(_cost(0.5))
    with_yes = unattended_approval(max_budget_usd=None, yes=True)(_cost(50.0))
    assert within.approved and "within the budget ($1.00)" in within.by
    assert not over.approved and "over the budget" in over.by
    assert not no_budget.approved and "--yes" in no_budget.by
    assert with_yes.approved and "--yes" in with_yes.by


def test_unattended_approval_holds_a_local_run_to_its_minutes() -> None:
    def minutes(estimated: float, limit: float | None) -> TimeEstimate:
        return TimeEstimate(model="tiny", method="sft", n_examples=8, tokens_per_epoch=100,
                            n_epochs=1, n_epochs_trained=1.0, total_tokens=100,
                            tokens_per_second=10.0, estimated_minutes=estimated, device="cpu",
                            max_minutes=limit)

    policy = unattended_approval(max_budget_usd=None)
    assert policy(minutes(3.0, 5.0)).approved
    assert not policy(minutes(9.0, 5.0)).approved
    assert "max_minutes" in policy(minutes(3.0, None)).by


def test_the_run_plan_says_dollars_for_a_vendor_and_minutes_for_a_local_run(tmp_path: Path) -> None:
    vendor = Workspace(_config(tmp_path)).runs.plan()
    assert vendor.target == "gpt-4o-mini-2024-07-18" and vendor.limit == "$5.00"
    local = Workspace(_config(tmp_path).with_overrides(**{
        "training.provider": "local", "training.local_model": tmp_path / "model",
        "budget.max_minutes": 30})).runs.plan()
    assert local.target == str(tmp_path / "model") and local.limit == "30 min"


def test_settings_typed_on_a_screen_are_checked_like_the_config(tmp_path: Path) -> None:
    golden = Workspace(_config(tmp_path), source=FixtureLogSource()).golden
    assert golden.settings(" auto ", "7") == SelectionSettings(epsilon="auto", top_k=7)
    assert golden.settings("0.3", "") == SelectionSettings(epsilon=0.3)  # blank: the config's
    with pytest.raises(ConfigError, match="dataset screen: selection.epsilon"):
        golden.settings("3.5", "7")


def test_select_export_and_record_through_one_workspace(tmp_path: Path) -> None:
    workspace = Workspace(_config(tmp_path), source=FixtureLogSource())
    settings = SelectionSettings(top_k=6)
    view = workspace.golden.select("answer_support_ticket", settings)
    assert view.candidates and len(view.candidates) <= 6 and view.settings == settings
    assert len(view.densities) == sum(1 for r in view.logs.records if r.succeeded)
    report = workspace.golden.export("answer_support_ticket", settings=settings)
    assert report.output_path == tmp_path / "out" / "golden-answer_support_ticket.jsonl"
    assert report.validation.ok and report.examples == len(view.candidates)
    record = view.logs.records[0]
    entry_id = workspace.feedback.record(workspace.feedback.correction(record, "Fixed."))
    assert [e.entry_id for e in workspace.feedback.entries()] == [entry_id]
    # a function's pairs: its own and the untagged, which its rules learn from
    assert [e.entry_id for e in workspace.feedback.entries("answer_support_ticket")] == [entry_id]
    assert workspace.feedback.entries("summarise_invoice") == []
    workspace.feedback.delete(entry_id)
    assert workspace.feedback.entries() == []
