"""Hostile feedback strings through the whole path: the hook always parses and runs nothing from data (VT-6)."""

from __future__ import annotations

import importlib.util
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.hooks.generator import HookScriptGenerator
from vectortrainer.hooks.validation import validate_hook_source
from vectortrainer.rules import interpreter
from vectortrainer.rules.model import Rule, rules_document
from vectortrainer.rules.synthesis import synthesize_rules

CANARY = Path(tempfile.gettempdir()) / "vectortrainer-fuzz-canary"
HOSTILE = [
    '"', "'", '"""', "'''", "\\", "\\\\'", "\n", "\r\n", "\x00", "\u2028", "\ud800", "é", "🙂", "{", "}",
    "\\g<1>", "\\1", "(a+)+$", "$(rm -rf /)", "`id`",
    f"__import__('pathlib').Path({str(CANARY)!r}).touch()",
    f'"""; __import__("pathlib").Path({str(CANARY)!r}).touch(); """',
    "'); import os; os.system('true'); ('",
]
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8)), min_size=1, max_size=5).map("".join)


def _import(source: str, folder: Path):
    path = folder / "generated_prompt_hook.py"
    path.write_text(source, encoding="utf-8", errors="surrogatepass")
    spec = importlib.util.spec_from_file_location(f"fuzz_hook_{abs(hash(source))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=hostile_text, replacement=hostile_text, key=hostile_text, value=hostile_text,
       kind=st.sampled_from(["replace", "remove", "case_fix", "strip_prefix", "strip_suffix", "append", "prepend", "regex_replace"]),
       when=st.lists(hostile_text, max_size=2),
       cases=st.dictionaries(st.integers(0, 3), st.sampled_from(["upper", "lower", "capitalize", "eval", "__import__"]),
                             max_size=2))
def test_hostile_rule_data_never_becomes_code(tmp_path, pattern, replacement, key, value, kind, when, cases):
    rules = [Rule(kind, pattern, replacement, condition={key: value}, text_condition=when, group_case=cases)]
    source, kept, skipped = HookScriptGenerator().render(rules)  # unsafe, broken or refused rules are left out, reported
    assert len(kept) + len(skipped) == 1
    refused = interpreter.load_rules(rules_document(rules))[1]
    assert not skipped or kind == "regex_replace" or when or refused, skipped[0].reason
    assert source.isascii()
    validate_hook_source(source)  # parses, template-identical, compiles
    hook = _import(source, tmp_path)
    assert not CANARY.exists()
    embedded = json.loads(hook.RULES_JSON)["rules"]
    assert [r["pattern"] for r in embedded] == [r.pattern for r in kept]  # the data comes back as data
    output = hook.intercept_output(pattern + replacement, {key: value})
    assert isinstance(output, str)
    assert hook.intercept_prompt(pattern, None) == pattern


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(hostile_text, hostile_text), min_size=1, max_size=4))
@example([('"', '"'), ("\ud800\"\"", '""\\g<1>')])  # a lone surrogate (valid in JSON escapes) once broke rule ids
def test_hostile_feedback_through_synthesis_and_rendering(tmp_path, texts):
    pairs = [FeedbackPair(bad, fixed, bad, {"function": fixed[:5]}) for bad, fixed in texts]
    rule_set = synthesize_rules(pairs)
    source, kept, skipped = HookScriptGenerator().render(rule_set)
    validate_hook_source(source)
    hook = _import(source, tmp_path)
    assert not CANARY.exists()
    for pair in pairs:
        assert isinstance(hook.intercept_output(pair.bad_output, pair.context), str)


def test_hostile_feedback_through_generate_and_a_clean_interpreter(tmp_path):
    pairs = [FeedbackPair(f"ok {h} end", f"ok {h}! end", h, {"function": h}) for h in HOSTILE if "\ud800" not in h]
    generator = HookScriptGenerator()
    report = generator.generate(synthesize_rules(pairs), tmp_path, pairs=pairs)
    assert report.path.is_file() and not CANARY.exists()
    assert report.replay.pairs == len(pairs)
