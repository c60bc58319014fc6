"""`vectortrainer select` / `functions` / `demo seed` end to end on the seeded store, and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vectortrainer.cli import main
from vectortrainer.demo.functions import DEMO_FUNCTIONS, demo_calls
from vectortrainer.golden.chatml import validate_chat_jsonl

pytestmark = pytest.mark.slow


def test_select_writes_valid_chatml_of_real_calls(seeded_store: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "golden.jsonl"
    code = main(["select", "--store", str(seeded_store), "--function", "draft_reply", "--top-k", "12", "--out", str(out)])
    assert code == 0
    assert validate_chat_jsonl(out).ok
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 12
    for example in lines:
        system, user, assistant = example["messages"]
        assert system["role"] == "system" and "draft_reply" in system["content"]
        # the user message holds the real captured arguments; the assistant the real return value
        fields = dict(line.split(": ", 1) for line in user["content"].splitlines())
        assert assistant["content"] == DEMO_FUNCTIONS["draft_reply"](**fields)
    assert "Golden data for draft_reply" in capsys.readouterr().err


def test_select_reports_progress_for_every_stage(seeded_store: Path, tmp_path: Path, capsys) -> None:
    """Each stage of an extraction (read, density, selection, write, validate) shows progress, in order."""
    out = tmp_path / "golden.jsonl"
    assert main(["select", "--store", str(seeded_store), "--function", "draft_reply", "--top-k", "5", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    starts = [err.index(f"{stage} draft_reply: ") for stage in ("read", "density", "selection", "write", "validate")]
    assert starts == sorted(starts)
    assert "write draft_reply: 5 to do" in err


def test_ctrl_c_during_select_exits_130_with_one_line_and_no_file(seeded_store: Path, tmp_path: Path, capsys,
                                                                   monkeypatch) -> None:
    out = tmp_path / "golden.jsonl"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("vectortrainer.golden.extractor.select_golden", interrupted)  # Ctrl-C while scoring
    code = main(["select", "--store", str(seeded_store), "--function", "draft_reply", "--out", str(out)])
    assert code == 130
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == f"selection of draft_reply interrupted; {out} was not written"
    assert not out.exists()


def test_functions_lists_counts(seeded_store: Path, capsys) -> None:
    assert main(["functions", "--store", str(seeded_store)]) == 0
    out = capsys.readouterr().out  # the table asked for is the command's output
    assert "summarize_ticket" in out and "classify_intent" in out


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["--function", "nope"], 1, "no logs of function 'nope'"),
    (["--function", "draft_reply", "--epsilon", "0"], 2, "selection.epsilon"),
    (["--function", "draft_reply", "--top-k", "0"], 2, "selection.top_k"),
    ([], 2, "--function NAME"),
])
def test_select_errors_are_one_line_with_exit_code(seeded_store: Path, tmp_path: Path, capsys, argv, code, message) -> None:
    out = tmp_path / "g.jsonl"
    assert main(["select", "--store", str(seeded_store), "--out", str(out), *argv]) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_missing_store_says_how_to_create_one(tmp_path: Path, capsys) -> None:
    assert main(["select", "--store", str(tmp_path / "none"), "--function", "f", "--out", str(tmp_path / "g.jsonl")]) == 1
    assert "vectortrainer demo seed" in capsys.readouterr().err


def test_seeding_twice_adds_nothing(seeded_store_copy: Path, tmp_path: Path, capsys) -> None:
    feedback = tmp_path / "feedback.jsonl"
    assert main(["demo", "seed", "--store", str(seeded_store_copy), "--feedback", str(feedback)]) == 0
    err = capsys.readouterr().err
    assert f"already holds {len(demo_calls())} logs; nothing added" in err
    assert len(feedback.read_text().splitlines()) >= 40
