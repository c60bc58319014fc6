"""HookVersionManager: versions, rollback, checksums, crash safety, manifest rebuild, lock (FR-7, VT-7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO_ROOT
from vectortrainer.errors import HookVersionError
from vectortrainer.hooks.template import render_hook
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.rules.model import Rule, rules_document


def _source(prefix: str) -> str:
    return render_hook(rules_document([Rule("strip_prefix", prefix)]))


@pytest.fixture
def manager(tmp_path):
    m = HookVersionManager(tmp_path)
    m.save_version(_source("A: "), 1, note="first")
    m.save_version(_source("B: "), 1, note="second")
    return m


def test_save_list_and_active(manager, tmp_path):
    versions = manager.list_versions()
    assert [v.version_id for v in versions] == ["v001", "v002"]
    assert [v.active for v in versions] == [False, True] and versions[0].note == "first"
    assert manager.active_path.read_text(encoding="utf-8") == _source("B: ")
    manifest = json.loads((tmp_path / ".hook_versions" / "manifest.json").read_text())
    assert manifest["active"] == "v002" and len(manifest["versions"][0]["sha256"]) == 64
    assert all(v.file.startswith(v.version_id + "_") and v.file.endswith("Z.py") for v in versions)


def test_rollback_to_previous_and_to_a_given_version(manager):
    assert manager.rollback().version_id == "v001"
    assert manager.active_path.read_text(encoding="utf-8") == _source("A: ")
    assert manager.get_active_version().version_id == "v001"
    with pytest.raises(HookVersionError, match="oldest"):
        manager.rollback()
    assert manager.rollback("v002").version_id == "v002"
    with pytest.raises(HookVersionError, match="no hook version 'v999'"):
        manager.rollback("v999")


def test_tampered_version_is_refused_and_active_hook_kept(manager):
    v001 = manager.list_versions()[0]
    path = manager.versions_dir / v001.file
    path.write_text(_source("A: ") + "\nimport os\n", encoding="utf-8")
    before = manager.active_path.read_bytes()
    with pytest.raises(HookVersionError, match="failed its checksum"):
        manager.rollback("v001")
    assert manager.active_path.read_bytes() == before
    report = manager.verify()
    assert not report.ok and "v001" in report.problems[0] and report.active_version == "v002"


def test_interrupted_write_leaves_previous_active_hook_intact(manager, monkeypatch):
    before = manager.active_path.read_bytes()
    real_replace = os.replace

    def crash_on_active(src, dst):
        if Path(dst).name == "generated_prompt_hook.py":
            raise OSError("power cut")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_active)
    with pytest.raises(OSError, match="power cut"):
        manager.save_version(_source("C: "), 1)
    with pytest.raises(OSError, match="power cut"):
        manager.rollback("v001")
    monkeypatch.undo()
    assert manager.active_path.read_bytes() == before
    assert manager.get_active_version().version_id == "v002"
    # The interrupted save left a version file; the manifest is rebuilt to include it, nothing is lost.
    fresh = HookVersionManager(manager.output_dir)
    assert [v.version_id for v in fresh.list_versions()] == ["v001", "v002", "v003"]
    assert fresh.verify().ok


@pytest.mark.parametrize("damage", ["missing", "garbage", "truncated"])
def test_damaged_manifest_is_rebuilt_with_a_warning(manager, damage, caplog):
    manifest = manager.versions_dir / "manifest.json"
    if damage == "missing":
        manifest.unlink()
    elif damage == "garbage":
        manifest.write_text("{not json", encoding="utf-8")
    else:
        manifest.write_text(manifest.read_text()[:40], encoding="utf-8")
    damaged = manifest.read_bytes() if manifest.exists() else None
    fresh = HookVersionManager(manager.output_dir)
    versions = fresh.list_versions()
    assert [(v.version_id, v.note, v.rules_count) for v in versions] == [("v001", "first", 1), ("v002", "second", 1)]
    assert versions[1].active and fresh.warnings and "rebuilt" in fresh.warnings[0]
    # Listing is read-only: the manifest is rebuilt in memory; the next writer writes it back.
    assert (manifest.read_bytes() if manifest.exists() else None) == damaged
    fresh.rollback("v001")
    assert json.loads(manifest.read_text())["active"] == "v001"


def test_checksums_survive_manifest_loss(manager):
    (manager.versions_dir / "manifest.json").unlink()
    v001 = manager.list_versions()[0]
    (manager.versions_dir / v001.file).write_text("x = 1\n", encoding="utf-8")
    (manager.versions_dir / "manifest.json").unlink(missing_ok=True)
    with pytest.raises(HookVersionError, match="checksum"):
        HookVersionManager(manager.output_dir).rollback("v001")


def test_diff_shows_the_rule_change(manager):
    text = manager.diff("v001", "v002")
    assert text.startswith("---") and "A: " in text and "B: " in text


def test_concurrent_writers_are_serialised(tmp_path):
    script = (
        "import sys\n"
        "from vectortrainer import HookVersionManager\n"
        "m = HookVersionManager(sys.argv[1])\n"
        "for i in range(4):\n"
        "    m.save_version('# hook %s %d\\n' % (sys.argv[2], i), i)\n"
    )
    root = REPO_ROOT
    env = {**os.environ, "PYTHONPATH": str(root)}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), tag], env=env) for tag in "ab"]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    versions = HookVersionManager(tmp_path).list_versions()
    assert [v.version_id for v in versions] == [f"v{i:03d}" for i in range(1, 9)]
    assert len({v.sha256 for v in versions}) == 8
