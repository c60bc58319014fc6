"""Issue 29, findings 6 and 7: a function's name never builds a path outside its folder nor another
function's path, and no setting or score that is not a number in its range lets a worse candidate through."""

from __future__ import annotations

import dataclasses
import math
import typing
from pathlib import Path

import pytest
import yaml

from vectortrainer.config import NUMBER_RULES, Config, duration_problem, load_config, parse_duration
from vectortrainer.errors import ConfigError, SettingError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.gate.holdout import HeldOutCase
from vectortrainer.gate.hook_gate import judge_hook
from vectortrainer.gate.model_gate import GateSettings, decide
from vectortrainer.hooks.template import render_hook
from vectortrainer.loop import read_state, run_cycle
from vectortrainer.registry.layout import function_dirname, function_name_of, promoted_path
from vectortrainer.registry.models import ModelRegistry, registered_functions
from vectortrainer.rules.model import Rule, rules_document
from vectortrainer.workspace import Workspace

HOSTILE_NAMES = ["..", ".", "", "../../../x", "/etc/passwd", "a/b", "a\\b", "x\n", "nul\x00", ".hook_versions",
                 "~", "%", "%25", "-x", "a~b", "\ud800", "é" * 150, "f" * 201, "f" * 300 + "a", "f" * 300 + "b"]


# ------------------------------------------------------------------------------ names
def test_every_name_is_one_safe_file_name_of_its_own():
    names = {name: function_dirname(name) for name in HOSTILE_NAMES + ["summarize_ticket", "f" * 200]}
    for name, dirname in names.items():
        assert dirname not in ("", ".", "..") and len(dirname) <= 200 and dirname.isascii(), name
        assert not set(dirname) & {"/", "\\", "\x00", "\n"} and Path(dirname).name == dirname, name
        assert function_name_of(dirname) in (name, None)  # decodes back, or (shortened) to nothing
    assert len(set(names.values())) == len(names)  # never two names on one file
    # Plain names keep their folders, so existing stores keep working.
    for plain in ("summarize_ticket", "pkg.mod.Class.method", "f" * 200, "a-b_c.1"):
        assert function_dirname(plain) == plain


class _NoLogs:
    def list_functions(self):
        return []


@pytest.mark.parametrize("function", ["../../../x", "ABSOLUTE", ".."])
def test_the_loop_state_file_stays_in_the_loop_folder(tmp_path, function):
    function = str(tmp_path / "planted") if function == "ABSOLUTE" else function
    out = tmp_path / "deep" / "down" / "out"  # "../../../x" stays inside tmp_path even unfixed
    config = Config().with_overrides(**{"output_dir": str(out), "feedback.path": str(tmp_path / "fb.jsonl"),
                                        "selection.function": function})
    cycle = run_cycle(config, source=_NoLogs(), now=1000.0)
    assert not cycle.ran
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != ".lock"]
    assert written == [out / "loop" / f"{function_dirname(function)}.json"]
    assert read_state(config, function).last_check_at == 1000.0


def test_a_function_named_dotdot_keeps_its_models_inside_models_dir(tmp_path):
    models = tmp_path / "models"
    ModelRegistry(models, "..").register(provider="local", model="/adapters/x", promote=True)
    assert promoted_path(models, "..").parent.parent == models and promoted_path(models, "..").is_file()
    assert not (tmp_path / "promoted.json").exists() and not (tmp_path / "versions").exists()
    assert registered_functions(models) == [".."]


def test_long_names_that_share_200_characters_have_their_own_models(tmp_path):
    a, b = "f" * 300 + "a", "f" * 300 + "b"
    ModelRegistry(tmp_path, a).register(provider="local", model="/adapters/a", promote=True)
    ModelRegistry(tmp_path, b).register(provider="local", model="/adapters/b", promote=True)
    assert ModelRegistry(tmp_path, a).promoted().model == "/adapters/a"  # promoting B left A alone
    assert ModelRegistry(tmp_path, b).promoted().model == "/adapters/b"
    assert registered_functions(tmp_path) == [a, b]


def test_the_default_golden_export_stays_in_the_output_folder(tmp_path):
    workspace = Workspace(Config().with_overrides(output_dir=str(tmp_path / "out")))
    for name in ("../../x", "/etc/x", ".."):
        assert workspace.golden.default_export_path(name).parent == tmp_path / "out"
    assert workspace.golden.default_export_path("summarize_ticket").name == "golden-summarize_ticket.jsonl"


# ------------------------------------------------------------------------------ numbers
@pytest.mark.parametrize("section, key, value", [
    ("gate", "hook_margin", ".nan"), ("gate", "hook_margin", "-0.5"), ("gate", "margin", ".nan"),
    ("gate", "margin", "-0.1"), ("gate", "tolerance", ".inf"), ("gate", "tolerance", ".nan"),
    ("gate", "confidence", ".nan"), ("gate", "confidence", "1"), ("gate", "confidence", "0.5"),
    ("gate", "min_cases", "0"),
    ("budget", "max_budget_usd", ".nan"), ("budget", "max_budget_usd", ".inf"), ("budget", "max_minutes", ".nan"),
    ("training", "poll_interval_s", ".inf"), ("training", "poll_interval_s", ".nan"),
    ("training", "learning_rate_multiplier", ".nan"), ("training", "beta", ".inf"), ("training", "n_epochs", "0"),
    ("openai", "timeout_s", ".nan"), ("openai", "timeout_s", "-1"), ("fireworks", "timeout_s", ".inf"),
    ("azure", "max_retries", "-1"), ("loop", "min_new_logs", "-3"),
])
def test_a_number_that_is_not_finite_or_in_range_is_refused_with_its_key(tmp_path, section, key, value):
    path = tmp_path / "config.yaml"
    path.write_text(f"{section}:\n  {key}: {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {section}.{key}: must be ") and "\n" not in message
    with pytest.raises(ConfigError, match=rf"^screen: {section}\.{key}: must be "):
        Config().with_overrides("screen", **{f"{section}.{key}": yaml.safe_load(value)})


@pytest.mark.parametrize("yaml_text, key", [
    ("budget:\n  prices:\n    gpt-x: .nan\n", "budget.prices.gpt-x"),
    ("loop:\n  interval: inf\n", "loop.interval"),
    ("gate:\n  max_cases: 1" + "0" * 5000 + "\n", "gate.max_cases"),
])
def test_prices_durations_and_numbers_too_long_are_refused_too(tmp_path, yaml_text, key):
    path = tmp_path / "config.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{path}(:\d+)?: {key}: "):
        load_config(path)


def test_every_numeric_setting_has_a_rule():
    numeric = set()
    for section in dataclasses.fields(Config):
        default = getattr(Config(), section.name)
        if not dataclasses.is_dataclass(default) or section.name == "selection":  # selection checks itself
            continue
        hints = typing.get_type_hints(type(default))
        for field in dataclasses.fields(default):
            kinds = set(typing.get_args(hints[field.name])) | {hints[field.name]}
            if kinds & {int, float}:
                numeric.add(f"{section.name}.{field.name}")
    # The seed is any whole number (the provider's range is checked before the upload); each price of
    # budget.prices has its own check (test below).
    assert numeric - {"training.seed", "budget.prices"} == set(NUMBER_RULES)


def test_durations_are_finite():
    for text in ("inf", "nan", "-5m", "0s", "400d"):
        assert duration_problem(text) is not None
        with pytest.raises(ValueError):
            parse_duration(text)
    assert parse_duration("15m") == 900.0


def test_the_defaults_and_sensible_values_still_load(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("gate:\n  hook_margin: 0.05\n  margin: 0\nbudget:\n  max_budget_usd: null\n"
                    "training:\n  learning_rate_multiplier: 0.5\n  n_epochs: auto\n", encoding="utf-8")
    config = load_config(path)
    assert config.gate.hook_margin == 0.05 and config.budget.max_budget_usd is None


class _NaNForExactMatches:
    """A semantic scorer that cannot score some replies (NaN), as a broken embedding model does."""

    def similarities(self, left, right):
        return [math.nan if a == b else 0.95 for a, b in zip(left, right, strict=True)]


def test_a_nan_similarity_fails_the_model_gate_never_passes_it():
    cases = [HeldOutCase("steady", [{"role": "user", "content": f"q{i}"}], f"the answer is {i}") for i in range(4)]
    perfect = [c.reference for c in cases]
    unsure = ["I am not sure."] * 4
    decision = decide(cases, "ft:new", "ft:old", "m001", unsure, perfect, GateSettings(), _NaNForExactMatches())
    assert not decision.passed and "4 of 16 similarities are not numbers" in decision.reason
    assert decision.candidate_score is None and decision.incumbent_score is None


@pytest.mark.parametrize("margin", [math.nan, -0.1, math.inf])
def test_gate_settings_refuse_a_margin_that_is_not_a_share(margin):
    with pytest.raises(SettingError, match="must be a finite number in"):
        GateSettings(margin=margin)
    with pytest.raises(SettingError, match="must be a finite number in"):
        GateSettings(tolerance=margin)


def _pairs(n=20):
    return [FeedbackPair(f"Summary: order {i} is late.", f"order #{i} is late.", f"ticket {i}") for i in range(n)]


def _source(*rules):
    return render_hook(rules_document(list(rules)))


@pytest.mark.parametrize("margin", [math.nan, -0.5])
def test_a_hook_that_repairs_less_than_the_active_one_never_goes_live_by_its_margin(margin):
    pairs = _pairs()
    partial = _source(Rule("strip_prefix", "Summary: "))
    full = _source(Rule("strip_prefix", "Summary: "), Rule("regex_replace", r"order (\d+)", r"order #\g<1>"))
    with pytest.raises(SettingError, match="hook_margin"):
        judge_hook(partial, pairs[:4], pairs, active_source=full, active_version="v001", margin=margin)
