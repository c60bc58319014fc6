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
def _manager(hooks_dir):
    return HookVersionManager.for_function(hooks_dir, ws.FUNCTION)


def test_hook_versions_view_rollback_and_states(tmp_path):
    ws.hook_store(tmp_path)
    view = hook_views.hook_versions_view(tmp_path, ws.FUNCTION)
    assert [(r.version_id, r.active, r.checksum_ok, r.state) for r in view.rows] == [
        ("v001", False, True, "superseded"), ("v002", False, True, "superseded"),
        ("v003", True, True, "active")]
    assert view.active == "v003" and view.problem is None
    assert view.hooks_dir == tmp_path / ws.FUNCTION
    restored = _manager(tmp_path).rollback("v001")
    assert restored.version_id == "v001"
    view = hook_views.hook_versions_view(tmp_path, ws.FUNCTION)
    assert view.active == "v001"
    assert [r.state for r in view.rows] == ["active", "superseded", "rolled back from"]
    # another function's view is its own: nothing of this one shows there
    other = hook_views.hook_versions_view(tmp_path, "draft_reply")
    assert other.rows == [] and "no hook versions of draft_reply" in other.problem


def test_tampered_version_shows_a_failed_checksum_and_cannot_be_restored(tmp_path):
    manager = ws.hook_store(tmp_path)
    version = manager.list_versions()[0]
    (manager.versions_dir / version.file).write_text("# edited by hand\n", encoding="utf-8")
    rows = hook_views.hook_versions_view(tmp_path, ws.FUNCTION).rows
    assert not rows[0].checksum_ok and rows[0].problem.startswith("hook version v001 failed its checksum")
    assert rows[1].checksum_ok and rows[1].problem is None
    with pytest.raises(HookVersionError, match="checksum"):
        _manager(tmp_path).rollback("v001")
    assert manager.get_active_version().version_id == "v003"


def test_no_hook_store_is_explained_and_not_created(tmp_path):
    view = hook_views.hook_versions_view(tmp_path / "hooks", ws.FUNCTION)
    assert view.rows == [] and "no hook versions" in view.problem and "rules synthesize" in view.problem
    assert not (tmp_path / "hooks").exists()


def test_engine_side_of_the_web_face_never_imports_streamlit():
    code = ("import sys, vectortrainer.workspace.run_views, vectortrainer.workspace.vector_map, vectortrainer.workspace.hook_views, "
            "vectortrainer.cli.web; "
            "bad = [m for m in ('streamlit', 'textual', 'vectorwave') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
