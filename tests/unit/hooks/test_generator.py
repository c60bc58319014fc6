"""Hook generation: rules as data, AST validation, subprocess import and replay, CLI (FR-2.5, FR-2.6, FR-5.4, VT-6)."""

from __future__ import annotations

import ast
import importlib.util
import json

import pytest

from vectortrainer.cli import main
from vectortrainer.demo.feedback import write_demo_feedback
from vectortrainer.errors import HookValidationError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.hooks.generator import HookScriptGenerator
from vectortrainer.hooks.template import HOOK_FILENAME, render_hook
from vectortrainer.hooks.validation import replay_in_subprocess, validate_hook_source
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.rules.model import Rule, rules_document
from vectortrainer.rules.safety import check_regex_safety
from vectortrainer.rules.synthesis import synthesize_rules


def _load(path):
    spec = importlib.util.spec_from_file_location("hook_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PAIRS = [FeedbackPair(f"Summary: the parcel for order {n} is late", f"the parcel for order #{n} is late", "p", {"function": "f"})
         for n in (11, 2345, 7)]


def test_generate_writes_a_hook_that_repairs_and_reports(tmp_path):
    rule_set = synthesize_rules(PAIRS)
    report = HookScriptGenerator().generate(rule_set, tmp_path, enable_versioning=False)
    assert report.path == tmp_path / HOOK_FILENAME and not (tmp_path / ".hook_versions").exists()
    assert report.version_id is None
    hook = _load(report.path)
    assert hook.intercept_output("Summary: the parcel for order 99 is late", {"function": "f"}) == "the parcel for order #99 is late"
    assert hook.intercept_prompt("Summary: order 99", {}) == "Summary: order 99"  # no prompt rules
    assert hook.intercept_output({"not": "text"}, None) == {"not": "text"}
    assert report.replay.exact_fixes == 3 and report.replay.good_changed == []
    assert set(report.replay.imported_modules) <= {"json", "re"} | {m for m in report.replay.imported_modules if m.startswith(("json.", "re.", "_"))}


def test_generate_returns_its_report_and_keeps_no_state(tmp_path):
    # Each call says what it wrote; the generator keeps only its settings, so a second call
    # (another folder, other rules, versioned or not) cannot be confused with the first.
    generator = HookScriptGenerator()
    settings = dict(vars(generator))
    first = generator.generate(synthesize_rules(PAIRS), tmp_path / "a")
    second = generator.generate([Rule("strip_prefix", "X: ")], tmp_path / "b", enable_versioning=False,
                                pairs=[FeedbackPair("X: a", "a"), FeedbackPair("b", "b")])
    assert vars(generator) == settings
    assert first.path == tmp_path / "a" / HOOK_FILENAME and first.version_id == "v001"
    assert HookVersionManager(tmp_path / "a").get_active_version().version_id == first.version_id
    assert first.rules_written == 2 and first.skipped == []
    assert first.replay.pairs == 3 and first.replay.exact_fixes == 3
    assert second.path == tmp_path / "b" / HOOK_FILENAME and second.version_id is None
    assert second.rules_written == 1 and second.replay.pairs == 2 and second.replay.good_changed == []
    third = generator.generate(synthesize_rules(PAIRS), tmp_path / "a", note="again")
    assert third.version_id == "v002" and first.version_id == "v001"  # earlier reports stay as they were
    unchecked = HookScriptGenerator(check_in_subprocess=False).generate([Rule("strip_prefix", "X: ")], tmp_path / "c")
    assert unchecked.replay is None and unchecked.version_id == "v001"


def test_rules_are_one_ascii_data_literal(tmp_path):
    source = render_hook(rules_document([Rule("replace", 'x"""\\', "é\x00")]))
    tree = ast.parse(source)
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    data = [s for s in strings if s.startswith('{"rules"')]
    assert len(data) == 1 and source.isascii()
    assert json.loads(data[0])["rules"][0]["replacement"] == "é\x00"
    assert validate_hook_source(source) == 1


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s + "\nimport os\n",
        lambda s: s.replace("import re\n", "import re\nimport subprocess\n"),
        lambda s: s + "\n__import__('os').system('true')\n",
        lambda s: s.replace("RULES_JSON = '", "RULES_JSON = str(1) + '", 1),
        lambda s: s.replace("return apply_rules(_RULES, model_output", "return apply_rules(_RULES, model_output.upper()", 1),
        lambda s: s + "\ndef intercept_extra(x):\n    return x\n",
        lambda s: s.replace("RULES_JSON = '", "RULES_JSON = f'", 1),
        lambda s: s[:-20],
    ],
)
def test_validation_rejects_tampered_scripts(tamper):
    source = render_hook(rules_document([Rule("strip_prefix", "Summary: ")]))
    validate_hook_source(source)
    with pytest.raises(HookValidationError):
        validate_hook_source(tamper(source))


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(a|a)*b", r"\d+\d+x", r"(\w)\1", r"(?:x+)*"])
def test_catastrophic_regexes_are_refused(pattern):
    with pytest.raises(ValueError):
        check_regex_safety(pattern)


def test_unsafe_or_broken_regex_rules_are_skipped_with_a_report(tmp_path):
    rules = [Rule("regex_replace", r"(a+)+$", "b"), Rule("regex_replace", r"(unclosed", "b"), Rule("strip_prefix", "X: ")]
    report = HookScriptGenerator().generate(rules, tmp_path, enable_versioning=False, pairs=[FeedbackPair("X: a", "a")])
    reasons = [s.reason for s in report.skipped]
    assert len(reasons) == 2 and "unsafe" in reasons[0] and "invalid" in reasons[1]
    assert report.rules_written == 1
    assert _load(report.path).intercept_output("X: aaaa", {}) == "aaaa"


def test_invalid_script_is_never_written(tmp_path, monkeypatch):
    import vectortrainer.hooks.generator as generator_module

    monkeypatch.setattr(generator_module, "render_hook", lambda doc: "import os\nRULES_JSON = ''\n")
    with pytest.raises(HookValidationError):
        HookScriptGenerator().generate([Rule("strip_prefix", "a")], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_subprocess_replay_reports_harm():
    # A rule that rewrites good outputs too is caught by the replay report.
    source = render_hook(rules_document([Rule("append", "", " Thanks.")]))
    pairs = [FeedbackPair("Hi", "Hi Thanks."), FeedbackPair("Ok", "Ok")]
    report = replay_in_subprocess(source, pairs)
    assert report.exact_fixes == 1 and report.good_changed == [1] and report.pairs == 2


def test_cli_synthesize_looks_then_activates_through_the_gate_per_function(tmp_path, capsys):
    feedback, hooks = tmp_path / "fb.jsonl", tmp_path / "hooks"
    write_demo_feedback(feedback)
    base = ["rules", "synthesize", "--feedback", str(feedback), "--hooks-dir", str(hooks), "--no-semantic",
            "--function", "draft_reply", "--json"]
    assert main(base) == 0  # looking never makes anything live
    summary = json.loads(capsys.readouterr().out)
    assert summary["function"] == "draft_reply" and summary["replay"]["good_changed"] == []
    assert summary["version"] is None and summary["live_now"] is None and not hooks.exists()
    assert main([*base, "--activate", "--note", "first"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["gate"]["passed"] and summary["live_before"] is None and summary["live_now"] == "v001"
    assert (hooks / "draft_reply" / "rules.json").is_file() and not (hooks / "rules.json").exists()
    assert main([*base, "--activate"]) == 0  # the same rules again: the same hook, not saved twice
    assert json.loads(capsys.readouterr().out)["live_now"] == "v001"
    listing = ["--function", "draft_reply", "--hooks-dir", str(hooks), "--json"]
    assert main(["hooks", "list", *listing]) == 0
    versions = json.loads(capsys.readouterr().out)
    assert [(v["version_id"], v["origin"], v["note"]) for v in versions] == [("v001", "cli", "first")]
    assert main(["hooks", "diff", "v001", "v001", *listing]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == []
    assert main(["hooks", "off", *listing]) == 0
    assert json.loads(capsys.readouterr().out) == {"function": "draft_reply", "live_now": None,
                                                    "live_before": "v001"}
    assert main(["hooks", "rollback", *listing]) == 0  # back to what ran before "off"
    assert json.loads(capsys.readouterr().out)["version_id"] == "v001"
    assert main(["hooks", "verify", *listing]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["active"] == "v001"


def test_cli_errors_are_one_line_and_non_zero(tmp_path, capsys):
    assert main(["rules", "synthesize", "--feedback", str(tmp_path / "nope.jsonl"), "--hooks-dir", str(tmp_path), "--no-semantic"]) == 1
    assert main(["hooks", "rollback", "v009", "--hooks-dir", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "--function NAME" in err  # whose hook: never guessed
    assert main(["hooks", "rollback", "v009", "--hooks-dir", str(tmp_path / "missing"), "--function", "f"]) == 1
    (tmp_path / "fb.jsonl").write_text('{"bad_output": "a", "fixed_output": "b"}\n', encoding="utf-8")
    assert main(["rules", "synthesize", "--feedback", str(tmp_path / "fb.jsonl"), "--hooks-dir", str(tmp_path / "h"),
                 "--no-semantic", "--choose", "bad"]) == 2
    err = capsys.readouterr().err
    assert "no hook versions of f" in err and "CONFLICT=N" in err
