"""Hook versions as the faces show them: checksum states, rollback diffs, a missing store explained."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import web_runs as ws
from vectortrainer.errors import HookVersionError
from vectortrainer.workspace import hook_views
from vectortrainer.hooks.versions import HookVersionManager


# ------------------------------------------------------------------------------ hooks
def test_hook_versions_view_rollback_and_diff(tmp_path):
    ws.hook_store(tmp_path)
    view = hook_views.hook_versions_view(tmp_path)
    assert [(r.version_id, r.active, r.checksum_ok) for r in view.rows] == [
        ("v001", False, True), ("v002", False, True), ("v003", True, True)]
    assert view.active == "v003" and view.problem is None
    diff = HookVersionManager(tmp_path).diff("v001", "v002")
    assert "-" in diff and "A: " in diff and "B: " in diff
    restored = HookVersionManager(tmp_path).rollback("v001")
    assert restored.version_id == "v001"
    assert HookVersionManager(tmp_path).get_active_version().version_id == "v001"
    assert hook_views.hook_versions_view(tmp_path).active == "v001"


def test_tampered_version_shows_a_failed_checksum_and_cannot_be_restored(tmp_path):
    manager = ws.hook_store(tmp_path)
    version = manager.list_versions()[0]
    (manager.versions_dir / version.file).write_text("# edited by hand\n", encoding="utf-8")
    rows = hook_views.hook_versions_view(tmp_path).rows
    assert not rows[0].checksum_ok and rows[0].problem.startswith("hook version v001 failed its checksum")
    assert rows[1].checksum_ok and rows[1].problem is None
    with pytest.raises(HookVersionError, match="checksum"):
        HookVersionManager(tmp_path).rollback("v001")
    assert manager.get_active_version().version_id == "v003"


def test_no_hook_store_is_explained_and_not_created(tmp_path):
    view = hook_views.hook_versions_view(tmp_path / "hooks")
    assert view.rows == [] and "no hook versions" in view.problem and "rules synthesize" in view.problem
    assert not (tmp_path / "hooks").exists()


def test_engine_side_of_the_web_face_never_imports_streamlit():
    code = ("import sys, vectortrainer.workspace.run_views, vectortrainer.workspace.vector_map, vectortrainer.workspace.hook_views, "
            "vectortrainer.cli.web; "
            "bad = [m for m in ('streamlit', 'textual', 'vectorwave') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
