"""The config file: typed, validated once, and every error names the file, the line and the key (README)."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest
import yaml

from tests.support import REPO_ROOT
from vectortrainer.config import Config, load_config
from vectortrainer.errors import ConfigError


def _write(tmp_path, text: str):
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_typo_names_file_line_key_and_the_likely_key(tmp_path):
    path = _write(tmp_path, """\
        store:
          path: store
        selection:
          function: f
          epsilonn: 0.2
        """)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:5: selection.epsilonn: unknown key (did you mean 'epsilon'?)"


def test_a_wrong_type_names_its_line_and_what_is_expected(tmp_path):
    path = _write(tmp_path, """\
        selection:
          top_k: lots
        """)
    with pytest.raises(ConfigError, match=rf"^{path}:2: selection.top_k: expected an integer, got 'lots'$"):
        load_config(path)


def test_broken_yaml_names_its_line(tmp_path):
    path = _write(tmp_path, "selection:\n  top_k: [1, 2\n")
    with pytest.raises(ConfigError, match=rf"^{path}:\d+: not valid YAML"):
        load_config(path)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("epsilon", 0, "selection.epsilon: must be 'auto' or a cosine distance in (0, 2]"),
    ("epsilon", 2.5, "selection.epsilon: must be 'auto' or a cosine distance in (0, 2]"),
    ("top_k", 0, "selection.top_k: must be a whole number of at least 1"),
    ("anomaly_share", 1.5, "selection.anomaly_share: must be in [0, 1]"),
])
def test_ranges_are_checked_once_for_file_flags_and_screens(tmp_path, key, value, message):
    with pytest.raises(ConfigError, match=rf"^{tmp_path / 'config.yaml'}: " + message.replace("(", r"\(")
                       .replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        load_config(_write(tmp_path, f"selection:\n  {key}: {value}\n"))
    with pytest.raises(ConfigError, match="^dataset screen: " + message.split(":")[0]):
        Config().with_overrides("dataset screen", **{f"selection.{key}": value})


def test_flags_override_the_file_and_none_leaves_it(tmp_path):
    config = load_config(_write(tmp_path, "selection:\n  top_k: 7\nfeedback:\n  semantic_screen: false\n"))
    assert config.selection.top_k == 7 and config.feedback.semantic_screen is False
    assert config.with_overrides(**{"selection.top_k": None}).selection.top_k == 7
    assert config.with_overrides(**{"selection.top_k": "9"}).selection.top_k == 9  # a typed-in string
    with pytest.raises(ConfigError, match="^command line: selection.top_k: expected an integer"):
        config.with_overrides(**{"selection.top_k": "nine"})


def test_a_missing_file_says_how_to_start(tmp_path):
    with pytest.raises(ConfigError, match="config file not found .copy config.example.yaml"):
        load_config(tmp_path / "nope.yaml")


def test_the_example_config_loads_and_documents_every_key():
    example = REPO_ROOT / "config.example.yaml"
    config = load_config(example)
    documented = yaml.safe_load(example.read_text(encoding="utf-8"))

    def keys(value, prefix=""):
        for field in dataclasses.fields(value):
            if field.name == "source":
                continue
            inner = getattr(value, field.name)
            name = f"{prefix}{field.name}"
            yield name
            if dataclasses.is_dataclass(inner):
                yield from keys(inner, f"{name}.")

    def present(name):
        node = documented
        for part in name.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    missing = [name for name in keys(config) if not present(name)]
    assert missing == [], f"config.example.yaml does not show: {missing}"
