"""Issue 29, findings 1 and 5: no correction is lost to a character some readers take for a line break,
and one feedback line that cannot be read (nested too deeply, a number too long) is reported and skipped
like any malformed line, by every reader: the store, `rules synthesize`, the loop."""

from __future__ import annotations

import json

import pytest

from vectortrainer.cli import main
from vectortrainer.config import Config
from vectortrainer.errors import DataFormatError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.files import jsonl_line, jsonl_lines, write_jsonl
from vectortrainer.gate.holdout import split_golden
from vectortrainer.loop import current_counts
from vectortrainer.training.data import split_for_validation

SEPARATORS = ("\u2028", "\u2029", "\x85")  # line and paragraph separators, NEL: common in pasted text


def _pair(text: str, function: str = "f") -> FeedbackPair:
    return FeedbackPair(f"bad{text}one", f"fixed{text}one", f"prompt{text}", {"function": function})


def test_corrections_holding_line_separators_are_all_read_back_and_survive_a_rewrite(tmp_path):
    store = FeedbackStore(tmp_path / "fb.jsonl")
    pairs = [_pair(sep) for sep in SEPARATORS] + [_pair(" plain ")]
    ids = store.add_many(pairs)
    assert [e.pair for e in store.list()] == pairs and store.problems() == []
    store.delete(ids[-1])  # a rewrite of the file, for an unrelated pair
    assert [e.pair for e in store.list()] == pairs[:3] and store.problems() == []
    # Written escaped: a reader that splits at every Unicode line break (str.splitlines, older
    # JavaScript) sees whole records too.
    text = (tmp_path / "fb.jsonl").read_text(encoding="utf-8")
    assert not any(sep in text for sep in SEPARATORS)
    assert [json.loads(line)["bad_output"] for line in text.splitlines()] == [p.bad_output for p in pairs[:3]]


def test_a_file_with_raw_separators_from_an_older_version_reads_whole(tmp_path):
    path = tmp_path / "fb.jsonl"
    raw = [json.dumps({"id": f"x{n}", **_pair(sep).to_dict()}, ensure_ascii=False) for n, sep in enumerate(SEPARATORS)]
    path.write_text("".join(line + "\n" for line in raw), encoding="utf-8")
    store = FeedbackStore(path)
    assert [e.pair for e in store.list()] == [_pair(sep) for sep in SEPARATORS] and store.problems() == []
    store.delete("x1")  # the rewrite keeps the others whole (before: the damage became permanent)
    assert [e.pair for e in FeedbackStore(path).list()] == [_pair(SEPARATORS[0]), _pair(SEPARATORS[2])]
    assert not any(sep in path.read_text(encoding="utf-8") for sep in SEPARATORS)  # now written escaped


def test_golden_data_with_separators_keeps_every_example_whole(tmp_path):
    examples = [{"messages": [{"role": "user", "content": f"q{n}{sep}"}, {"role": "assistant", "content": f"a{sep}{n}"}]}
                for n in range(6) for sep in SEPARATORS]
    golden = tmp_path / "golden.jsonl"
    write_jsonl(golden, examples)
    assert not any(sep in golden.read_text(encoding="utf-8") for sep in SEPARATORS)
    # A golden file made elsewhere may hold them raw: the splits still cut at "\n" only.
    golden.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples), encoding="utf-8")
    train, valid = split_for_validation(golden, tmp_path / "split", 0.25)
    assert valid is not None
    kept = [json.loads(line) for path in (train, valid) for line in path.read_text(encoding="utf-8").split("\n") if line]
    assert sorted(map(json.dumps, kept)) == sorted(map(json.dumps, examples))
    cases = split_golden(golden, None, 5, tmp_path / "train.jsonl", limit=10)
    assert len(cases) == 3 and len(jsonl_lines((tmp_path / "train.jsonl").read_text(encoding="utf-8"))) == 15


def test_jsonl_line_escapes_only_the_line_breaks_of_strings():
    line = jsonl_line({"text": "café\u2028naïve\x85", "n": 1})
    assert line == '{"text": "café\\u2028naïve\\u0085", "n": 1}' and json.loads(line)["text"] == "café\u2028naïve\x85"
    assert jsonl_lines("a\u2028b\nc\n") == ["a\u2028b", "c"] and jsonl_lines("") == []


DEEP = "[" * 100_000
HUGE = '{"bad_output": 1' + "0" * 5000 + ', "fixed_output": "x"}'
# Parsable, but deep enough to break the recursive code that handles pairs later (copies, writing).
DEEP_CONTEXT = json.dumps({"bad_output": "a", "fixed_output": "b"})[:-1] + ', "context": {"k": ' + "[" * 600 + "]" * 600 + "}}"


def _hostile_file(tmp_path):
    path = tmp_path / "fb.jsonl"
    good = json.dumps({"bad_output": "Helo", "fixed_output": "Hello", "input_prompt": "p", "context": {"function": "f"}})
    other = json.dumps({"bad_output": "Helo you", "fixed_output": "Hello you", "input_prompt": "q",
                        "context": {"function": "f"}})
    third = json.dumps({"bad_output": "Helo there", "fixed_output": "Hello there", "input_prompt": "r",
                        "context": {"function": "f"}})
    path.write_text("\n".join([good, DEEP, HUGE, DEEP_CONTEXT, other, third]) + "\n", encoding="utf-8")
    return path


def test_deep_and_huge_number_lines_are_reported_by_number_and_skipped(tmp_path):
    path = _hostile_file(tmp_path)
    store = FeedbackStore(path)
    read = store.read()
    assert [p.bad_output for p in read.pairs] == ["Helo", "Helo you", "Helo there"]
    assert [(p.line, p.reason) for p in read.problems] == [
        (2, "not valid JSON (nested too deeply to read)"),
        (3, "not valid JSON (a number with too many digits)"),
        (4, "nested more than 32 levels deep"),
    ]
    assert read.summary()["malformed_line_numbers"] == [2, 3, 4] and "3 malformed line(s) skipped" in read.notices(path)[0]
    with pytest.raises(DataFormatError, match="line 2: not valid JSON"):
        store.pairs(strict=True)
    store.add(_pair(" new "))  # the bad lines are kept verbatim on a rewrite
    assert path.read_text(encoding="utf-8").split("\n")[1:4] == [DEEP, HUGE, DEEP_CONTEXT]


def test_rules_synthesize_reports_the_bad_lines_and_learns_from_the_rest(tmp_path, monkeypatch, capsys):
    path = _hostile_file(tmp_path)
    monkeypatch.chdir(tmp_path)  # no store here: the blast radius is simply not measured
    code = main(["rules", "synthesize", "--feedback", str(path), "--hooks-dir", str(tmp_path / "hooks"),
                 "--no-semantic", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "line 2: not valid JSON (nested too deeply to read)" in " ".join(captured.err.split())
    [summary] = [json.loads(line) for line in captured.out.splitlines()]
    assert summary["feedback_pairs"] == 3 and summary["rules"]


class _NoLogs:
    def list_functions(self):
        return []


def test_a_loop_cycle_counts_the_readable_pairs(tmp_path):
    config = Config().with_overrides(**{"feedback.path": str(_hostile_file(tmp_path))})
    assert current_counts(config, "f", _NoLogs()) == (0, 3)
