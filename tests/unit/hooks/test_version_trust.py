"""The version store trusts nothing it did not write; listing and verifying change nothing; the lock says who holds it
(issue 16 items 6, 8 and 10)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO_ROOT
from vectortrainer.cli import main
from vectortrainer.errors import HookVersionError, VersionLockError
from vectortrainer.hooks.template import render_hook
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.registry import versions as version_store
from vectortrainer.rules.model import Rule, rules_document

SECRET = "API_KEY=sk-the-secret-nobody-should-see\n"


def _source(prefix: str) -> str:
    return render_hook(rules_document([Rule("strip_prefix", prefix)]))


@pytest.fixture
def hooks(tmp_path) -> Path:
    directory = tmp_path / "hooks" / "f"  # function f's own folder of the hooks directory
    manager = HookVersionManager.for_function(tmp_path / "hooks", "f")
    manager.save_version(_source("A: "), 1, note="first")
    manager.save_version(_source("B: "), 1, note="second")
    (directory.parent / "secret.txt").write_text(SECRET, encoding="utf-8")
    return directory


def _snapshot(root: Path) -> dict[str, tuple[bytes | str, int]]:
    """Every path under ``root`` (and ``root`` itself): its bytes (or link target) and mtime in ns."""
    shot: dict[str, tuple[bytes | str, int]] = {".": (b"", os.lstat(root).st_mtime_ns)}
    for path in sorted(root.rglob("*")):
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            content: bytes | str = os.readlink(path)
        elif path.is_dir():
            content = b""
        else:
            content = path.read_bytes()
        shot[str(path.relative_to(root))] = (content, info.st_mtime_ns)
    return shot


def _of(hooks: Path) -> list[str]:
    """The CLI's words for function f's hooks."""
    return ["--hooks-dir", str(hooks.parent), "--function", hooks.name]


def _plant(hooks: Path, number: int, name_tail: str = "_20990101T000000000000Z.py") -> Path:
    return hooks / ".hook_versions" / f"v{number:03d}{name_tail}"


def test_a_symlink_to_a_secret_is_never_adopted_verified_or_printed(hooks, capsys):
    _plant(hooks, 3).symlink_to(hooks.parent / "secret.txt")
    assert main(["hooks", "list", *_of(hooks), "--json"]) == 0
    captured = capsys.readouterr()
    assert [v["version_id"] for v in json.loads(captured.out)] == ["v001", "v002"]
    assert "symbolic link" in captured.err and "sk-the-secret" not in captured.out + captured.err

    assert main(["hooks", "verify", *_of(hooks)]) == 1
    captured = capsys.readouterr()
    assert "symbolic link" in captured.err and "sk-the-secret" not in captured.err

    assert main(["hooks", "diff", "v001", "v003", *_of(hooks)]) != 0
    captured = capsys.readouterr()
    assert "sk-the-secret" not in captured.out + captured.err


def test_a_planted_file_that_is_not_a_hook_is_ignored_and_fails_verify(hooks):
    _plant(hooks, 3).write_text(SECRET, encoding="utf-8")
    manager = HookVersionManager(hooks)
    assert [v.version_id for v in manager.list_versions()] == ["v001", "v002"]
    report = manager.verify()
    assert not report.ok and any("v003" in p and "not a valid hook version" in p for p in report.problems)
    with pytest.raises(HookVersionError, match="no hook version 'v003'"):
        manager.diff("v001", "v003")


def test_a_valid_hook_without_metadata_is_listed_unverified_and_never_restored_or_diffed(hooks, capsys):
    _plant(hooks, 3).write_text(_source("C: "), encoding="utf-8")
    manager = HookVersionManager(hooks)
    listed = manager.list_versions()
    assert [(v.version_id, v.unverified) for v in listed] == [("v001", False), ("v002", False), ("v003", True)]
    report = manager.verify()
    assert not report.ok and any("v003 is unverified" in p for p in report.problems)
    before = manager.active_path.read_bytes()
    with pytest.raises(HookVersionError, match="unverified"):
        manager.diff("v002", "v003")
    with pytest.raises(HookVersionError, match="unverified"):
        manager.rollback("v003")
    assert manager.active_path.read_bytes() == before
    # A writer persists the rebuilt manifest, and the entry stays unverified there.
    manager.save_version(_source("D: "), 1)
    again = HookVersionManager(hooks).list_versions()
    assert [(v.version_id, v.unverified) for v in again] == [("v001", False), ("v002", False), ("v003", True), ("v004", False)]
    assert main(["hooks", "list", *_of(hooks), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[2]["state"].startswith("unverified")


def test_a_manifest_entry_outside_the_versions_folder_is_never_read(hooks, capsys):
    manifest_path = hooks / ".hook_versions" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    import hashlib

    manifest["versions"][0]["file"] = "../../secret.txt"
    manifest["versions"][0]["sha256"] = hashlib.sha256(SECRET.encode()).hexdigest()
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    manager = HookVersionManager(hooks)
    versions = manager.list_versions()
    assert [v.file for v in versions] == [p.name for p in sorted((hooks / ".hook_versions").glob("v*.py"))]
    assert any("damaged" in w for w in manager.warnings)
    assert manager.read_version("v001") == _source("A: ")  # from its own file, via its metadata
    assert main(["hooks", "diff", "v001", "v002", *_of(hooks)]) == 0
    captured = capsys.readouterr()
    assert "sk-the-secret" not in captured.out + captured.err


def test_confinement_is_checked_where_a_payload_is_read(hooks):
    store = HookVersionManager(hooks).store
    entry = store.entries()[0]
    entry.file = "../../secret.txt"
    with pytest.raises(HookVersionError, match="not one this store writes"):
        store.checked_payload(entry)


def test_listing_verifying_and_diffing_change_nothing(hooks):
    versions_dir = hooks / ".hook_versions"
    (versions_dir / "manifest.json").write_text("{damaged", encoding="utf-8")
    _plant(hooks, 3).write_text(_source("C: "), encoding="utf-8")
    _plant(hooks, 4).symlink_to(hooks.parent / "secret.txt")
    before = _snapshot(hooks)
    manager = HookVersionManager(hooks)
    manager.list_versions()
    manager.get_active_version()
    manager.verify()
    manager.diff("v001", "v002")
    manager.read_version("v002")
    manager.store.history()
    for command in ("list", "verify"):
        main(["hooks", command, *_of(hooks)])
    assert _snapshot(hooks) == before


def test_looking_at_a_store_with_no_lock_creates_no_lock(hooks):
    (hooks / ".hook_versions" / ".lock").unlink()
    before = _snapshot(hooks)
    HookVersionManager(hooks).list_versions()
    HookVersionManager(hooks).verify()
    assert _snapshot(hooks) == before


HOLDER = (
    "import sys, time\n"
    "from vectortrainer.registry.lock import StoreLock\n"
    "with StoreLock(sys.argv[1], timeout_s=5, what='hooks').exclusive():\n"
    "    print('held', flush=True)\n"
    "    sys.stdin.read()\n"
)


@pytest.fixture
def held_lock(hooks):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(hooks / ".hook_versions" / ".lock")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "held"
    yield proc
    proc.stdin.close()
    proc.wait(timeout=30)


def test_a_held_lock_fails_after_a_bounded_wait_naming_its_holder(hooks, held_lock):
    manager = HookVersionManager(hooks, lock_timeout_s=0.3)
    with pytest.raises(VersionLockError, match=rf"another writer \(pid {held_lock.pid} on .+ since \d{{4}}-"):
        manager.save_version(_source("C: "), 1)
    assert len(list((hooks / ".hook_versions").glob("v*.py"))) == 2  # nothing was written


def test_cli_rollback_against_a_held_lock_is_one_line_and_exit_2(hooks, held_lock, capsys, monkeypatch):
    monkeypatch.setattr(version_store, "LOCK_WAIT_S", 0.3)
    before = (hooks / "generated_prompt_hook.py").read_bytes()
    assert main(["hooks", "rollback", *_of(hooks)]) == 2
    err = capsys.readouterr().err
    assert f"pid {held_lock.pid}" in err and "Traceback" not in err and "try again" in err
    assert (hooks / "generated_prompt_hook.py").read_bytes() == before


def test_a_symlinked_lock_is_refused_in_one_line_with_exit_2(hooks, capsys):
    lock = hooks / ".hook_versions" / ".lock"
    lock.unlink()
    target = hooks.parent / "secret.txt"
    lock.symlink_to(target)
    assert main(["hooks", "rollback", *_of(hooks)]) == 2
    err = capsys.readouterr().err
    assert "symbolic link" in err and ".lock" in err and "Traceback" not in err
    assert main(["hooks", "list", *_of(hooks)]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == SECRET


def test_the_generated_hook_and_versions_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        manager = HookVersionManager(tmp_path)
        manager.save_version(_source("A: "), 1)
        os.chmod(manager.active_path, 0o644)
        manager.save_version(_source("B: "), 1)
        manager.rollback("v001")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(manager.active_path).st_mode) == 0o644
    assert {stat.S_IMODE(os.stat(p).st_mode) for p in manager.versions_dir.glob("v*")} == {0o644}
