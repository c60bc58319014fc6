"""vectortrainer.files: atomic rewrites keep a file's permission bits; new files follow the umask (issue 16 item 10)."""

from __future__ import annotations

import os
import stat

import pytest

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.files import atomic_write_text


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_rewrite_keeps_an_existing_files_mode(tmp_path, umask_022):
    path = tmp_path / "shared.txt"
    path.write_text("old\n", encoding="utf-8")
    for mode in (0o644, 0o640, 0o664, 0o600):
        os.chmod(path, mode)
        atomic_write_text(path, f"new {mode:o}\n")
        assert _mode(path) == mode
        assert path.read_text(encoding="utf-8") == f"new {mode:o}\n"


def test_new_file_gets_the_process_umask(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "a.txt", "a")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a.txt") == 0o640
    os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "b.txt", "b")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "b.txt") == 0o644


def test_explicit_private_mode_wins(tmp_path, umask_022):
    path = tmp_path / "private.txt"
    path.write_text("x", encoding="utf-8")
    os.chmod(path, 0o644)
    atomic_write_text(path, "secret", mode=0o600)
    assert _mode(path) == 0o600


def test_feedback_add_keeps_a_0644_file_0644(tmp_path, umask_022):
    path = tmp_path / "feedback.jsonl"
    store = FeedbackStore(path)
    store.add(FeedbackPair("bad", "fixed", "prompt", {}))
    os.chmod(path, 0o644)
    store.add(FeedbackPair("bad 2", "fixed 2", "prompt", {}))
    assert _mode(path) == 0o644
    assert len(store.list()) == 2
