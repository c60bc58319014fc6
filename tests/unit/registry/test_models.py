"""The model registry on the one versioning primitive: keep, promote, roll back, list, diff (VT-13, VT-7)."""

from __future__ import annotations

import json

import pytest

from vectortrainer.errors import ModelRegistryError
from vectortrainer.registry.layout import function_dirname
from vectortrainer.registry.models import ModelRegistry, registered_functions


def _register(registry, model, passed=True, score=0.5, **extra):
    return registry.register(provider="openai", model=model, base_model="gpt-4o-mini-2024-07-18",
                             run_id=f"run-{model}", data_sha256="ab" * 32,
                             evaluation={"candidate": {"overall": score}}, gate={"passed": passed, "reason": "r"},
                             promote=passed, **extra)


@pytest.fixture
def registry(tmp_path):
    return ModelRegistry(tmp_path / "models", "summarize_ticket")


def test_every_model_is_kept_with_its_figures_and_one_is_promoted(registry):
    _register(registry, "ft:a", score=0.6)
    _register(registry, "ft:b", passed=False, score=0.4)
    models = registry.list()
    assert [(m.version_id, m.model, m.promoted, m.passed_gate) for m in models] == [
        ("m001", "ft:a", True, True), ("m002", "ft:b", False, False)]
    first = models[0]
    assert first.run_id == "run-ft:a" and first.base_model.startswith("gpt-4o-mini") and first.created_at
    assert first.promoted_at is not None and models[1].promoted_at is None
    assert json.loads(registry.promoted_path.read_text())["model"] == "ft:a"
    assert registry.find_run("run-ft:b").version_id == "m002"


def test_rollback_goes_to_the_model_promoted_before_and_passes_over_refused_ones(registry):
    _register(registry, "ft:a")
    _register(registry, "ft:refused", passed=False)
    _register(registry, "ft:c")
    assert registry.promoted().model == "ft:c"
    assert registry.rollback().model == "ft:a"  # m002 failed its gate: never "the previous one"
    with pytest.raises(ModelRegistryError, match="oldest"):
        registry.rollback()
    assert registry.promote("m002").model == "ft:refused"  # a person may still promote it by name
    assert registry.rollback("m003").model == "ft:c"
    assert [r["action"] for r in registry.store.history()] == [
        "save", "activate", "save", "save", "activate", "rollback", "promote", "rollback"]


def test_nothing_to_roll_back_and_unknown_ids_are_clear_errors(registry):
    with pytest.raises(ModelRegistryError, match="no model of summarize_ticket is promoted"):
        registry.rollback()
    _register(registry, "ft:refused", passed=False)
    with pytest.raises(ModelRegistryError, match="no model 'm009'.*known: m001"):
        registry.promote("m009")
    with pytest.raises(ModelRegistryError, match="needs a function name"):
        ModelRegistry(registry.models_dir, "")


def test_diff_lists_every_figure_of_both_models(registry):
    _register(registry, "ft:a", score=0.5)
    _register(registry, "ft:b", score=0.75)
    [change] = registry.diff("m001", "m002")
    assert (change.name, change.a, change.b, change.delta) == ("candidate.overall", 0.5, 0.75, 0.25)


def test_a_tampered_entry_is_refused_and_the_promoted_model_kept(registry):
    _register(registry, "ft:a")
    _register(registry, "ft:b")
    path = next(registry.store.versions_dir.glob("m001_*Z.json"))
    path.write_text(path.read_text().replace("ft:a", "ft:evil"), encoding="utf-8")
    with pytest.raises(ModelRegistryError, match="failed its checksum"):
        registry.rollback()
    assert registry.promoted().model == "ft:b"
    report = registry.verify()
    assert not report.ok and "m001" in report.problems[0]


@pytest.mark.parametrize("damage", ["missing", "garbage", "truncated"])
def test_a_damaged_manifest_is_rebuilt_from_the_entries(registry, damage):
    _register(registry, "ft:a")
    _register(registry, "ft:b", passed=False)
    manifest = registry.store.manifest_path
    if damage == "missing":
        manifest.unlink()
    else:
        manifest.write_text("{oops" if damage == "garbage" else manifest.read_text()[:60], encoding="utf-8")
    fresh = ModelRegistry(registry.models_dir, "summarize_ticket")
    assert [(m.model, m.promoted, m.passed_gate) for m in fresh.list()] == [("ft:a", True, True), ("ft:b", False, False)]
    assert fresh.warnings and "rebuilt" in fresh.warnings[0]


def test_lost_metadata_is_recovered_from_the_entry_itself(registry):
    _register(registry, "ft:a")
    for meta in registry.store.versions_dir.glob("*.meta.json"):
        meta.unlink()
    registry.store.manifest_path.unlink()
    [model] = ModelRegistry(registry.models_dir, "summarize_ticket").list()
    assert (model.model, model.run_id, model.promoted) == ("ft:a", "run-ft:a", True)


def test_functions_with_odd_names_get_their_own_directory(tmp_path):
    assert function_dirname("summarize_ticket") == "summarize_ticket"
    assert function_dirname("pkg.mod:Class.method") == "pkg.mod%3AClass.method"
    assert function_dirname("../escape") == "%2E.%2Fescape"  # never a hidden or parent folder
    for name in ("b_function", "pkg.mod:Class.method"):
        ModelRegistry(tmp_path, name).register(provider="local", model="/adapters/x", promote=True)
    assert registered_functions(tmp_path) == ["b_function", "pkg.mod:Class.method"]
    assert registered_functions(tmp_path / "nowhere") == []


def test_looking_at_a_registry_that_does_not_exist_creates_nothing(tmp_path):
    registry = ModelRegistry(tmp_path / "models", "f")
    assert registry.list() == [] and registry.promoted() is None
    assert not (tmp_path / "models").exists()


def test_a_planted_model_file_is_never_trusted(registry, tmp_path):
    """Issue 16 item 6: a file without our metadata is ignored unless it is a model entry, and then unverified."""
    _register(registry, "ft:a")
    versions = registry.store.versions_dir
    (tmp_path / "secret.txt").write_text("token=hunter2\n", encoding="utf-8")
    (versions / "m002_20990101T000000000000Z.json").symlink_to(tmp_path / "secret.txt")
    (versions / "m003_20990101T000000000000Z.json").write_text("not json", encoding="utf-8")
    (versions / "m004_20990101T000000000000Z.json").write_text(json.dumps({"model": "ft:planted"}), encoding="utf-8")
    before = {p.name: p.read_bytes() for p in versions.iterdir() if not p.is_symlink()}
    fresh = ModelRegistry(registry.models_dir, "summarize_ticket")
    assert [m.model for m in fresh.list()] == ["ft:a", "ft:planted"]
    report = fresh.store.verify()
    assert not report.ok and len(report.problems) == 3  # the link, the non-entry, the unverified entry
    assert {p.name: p.read_bytes() for p in versions.iterdir() if not p.is_symlink()} == before
    with pytest.raises(ModelRegistryError, match="unverified"):
        fresh.promote("m004")
    assert fresh.promoted().model == "ft:a"
