"""Fuzzing what users write by hand (issue 29): YAML configs and feedback lines, on a bounded budget.

- Any YAML config either loads (and then registers its secrets and snapshots itself, as every face does at
  start-up) or raises one ``ConfigError`` of one line: never another exception. The audit's 6,000 fuzzed
  configs found two causes of tracebacks, kept as explicit examples: a list or a mapping used as a key, and a
  base URL that ``urllib`` cannot split (``http://[::1``), read at start-up for its user info.
- Any feedback line is either a pair or a reported malformed line, whatever it holds (deep nesting, huge
  numbers, line separators, lone surrogates, text that is no JSON): never another exception, and nothing
  is lost (every non-blank line is one or the other, and a pair added after them reads back).

Each test runs a few hundred examples with no per-example deadline: a few seconds in all, in ``make test``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import vectortrainer.config as config_module
from vectortrainer.config import Config, load_config
from vectortrainer.errors import ConfigError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackStore

BUDGET = settings(max_examples=150, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

SECTIONS = {f.name: getattr(Config(), f.name) for f in dataclasses.fields(Config) if f.name != "source"}
KEYS = {name: [f.name for f in dataclasses.fields(value)] if dataclasses.is_dataclass(value) else []
        for name, value in SECTIONS.items()}
# Values a hand-written config holds by mistake, beside what hypothesis makes up.
ODD_TEXT = st.sampled_from([".nan", ".inf", "-.inf", "1e400", "0x1F", "2027-13-45", "2027-01-06", "~", "auto", "-1",
                            "inf", "nan", "", " ", "a\0b", "1_000", "9" * 5000, "http://[::1", "http://a:b@[x",
                            "https://h:99999/v1", "ftp://x", "//x", "http://", "\u2028", "\ufeff", "é" * 3])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12), ODD_TEXT)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                      max_leaves=5)


@st.composite
def config_documents(draw: st.DrawFn) -> str:
    """A YAML config: known sections and keys (mostly) with any values."""
    document: dict[str, object] = {}
    for section in draw(st.lists(st.sampled_from(sorted(KEYS)), max_size=4, unique=True)):
        keys = KEYS[section]
        if not keys or draw(st.integers(0, 4)) == 0:
            document[section] = draw(VALUES)
        else:
            chosen = draw(st.lists(st.sampled_from(keys), max_size=4, unique=True))
            document[section] = {key: draw(VALUES) for key in chosen}
    return yaml.safe_dump(document, allow_unicode=True)


YAML_PIECES = st.sampled_from(["{", "}", "[", "]", ":", " ", "\n", "  ", "- ", "? ", ",", "&a ", "*a", "<<: ", "!!str ",
                               "!!binary ", "!!set ", "!!omap ", "!!timestamp ", "!!float ", "'", '"', "#", "~",
                               "---\n", ".nan", "1e400", "2027-13-45", "\t", "|", ">", *KEYS,
                               *{key for keys in KEYS.values() for key in keys}])


def loads_or_says_why_in_one_line(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    try:
        config = load_config(path)
    except ConfigError as error:
        assert "\n" not in str(error).strip(), str(error)
        return
    config.register_secrets()  # what every face does first (the registry is kept out of it: fixture)
    json.dumps(config.redacted(), default=str)


@pytest.fixture
def no_secret_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fuzzed key variables and URLs are not registered for redaction in the rest of the suite."""
    monkeypatch.setattr(config_module, "register_secret", lambda value: None)
    monkeypatch.setattr(config_module, "register_secret_env", lambda name: None)


@BUDGET
@given(text=config_documents())
@example(text="? [a, b]\n: 1\n")  # a list as a key: a TypeError before
@example(text="training: {? {a: 1} : 2}\n")  # a mapping as a key
@example(text="openai:\n  base_url: 'http://[::1'\n")  # urlsplit's ValueError at start-up before
@example(text="together:\n  base_url: 'https://user:pw@[x/v1'\n")
@example(text="store:\n  path: \"a\\0b\"\n")  # a NUL in a path: a ValueError wherever it was used
@example(text="azure:\n  ? '\n\n    '\n  : null\n")  # a key holding line breaks, shown in the error line
def test_any_config_loads_or_is_one_configerror(text, tmp_path, no_secret_registry):
    loads_or_says_why_in_one_line(tmp_path / "config.yaml", text)


@BUDGET
@given(pieces=st.lists(YAML_PIECES, max_size=24))
def test_any_yaml_text_loads_or_is_one_configerror(pieces, tmp_path, no_secret_registry):
    loads_or_says_why_in_one_line(tmp_path / "config.yaml", "".join(pieces))


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)
PAIR_LIKE = st.fixed_dictionaries({"bad_output": st.one_of(st.text(max_size=20), JSON_VALUES),
                                   "fixed_output": st.one_of(st.text(max_size=20), JSON_VALUES)},
                                  optional={"id": JSON_VALUES, "input_prompt": JSON_VALUES, "context": JSON_VALUES})
FEEDBACK_LINES = st.one_of(
    PAIR_LIKE.map(lambda record: json.dumps(record, ensure_ascii=False)),
    JSON_VALUES.map(json.dumps),
    st.text(max_size=40).filter(lambda text: "\n" not in text),
    st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth),  # nested past any limit
    st.integers(4301, 20000).map(lambda digits: '{"bad_output": "a", "fixed_output": ' + "9" * digits + "}"),
    st.sampled_from(['{"bad_output": "x\\ud800", "fixed_output": "y"}', '{"bad_output": "a\u2028b", "fixed_output": "c"}',
                     '{"bad_output": "a", "fixed_output": "b", "context": [1]}', "\u2029", "\x85", "{", "null"]),
)


@BUDGET
@given(lines=st.lists(FEEDBACK_LINES, min_size=1, max_size=6))
def test_any_feedback_line_is_a_pair_or_a_reported_malformed_line(lines, tmp_path):
    path = tmp_path / "feedback.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8", errors="surrogatepass")
    store = FeedbackStore(path)
    read = store.read()
    non_blank = [line for line in "".join(line + "\n" for line in lines).split("\n") if line.strip()]
    assert len(read.pairs) + len(read.problems) == len(non_blank)
    for notice in read.notices(path):
        assert "\n" not in notice
    added = FeedbackPair("still wrong", "right at last", "after the fuzz", {"function": "f"})
    store.add(added)
    after = store.read()
    assert after.pairs[-1] == added and len(after.problems) == len(read.problems)
    path.unlink()
