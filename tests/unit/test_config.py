"""The config file: typed, validated once, and every error names the file, the line and the key (README)."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest
import yaml

from tests.support import REPO_ROOT
from vectortrainer.config import Config, load_config
from vectortrainer.errors import ConfigError
from vectortrainer.settings import SelectionSettings


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
    ("anomaly_share", 1.5, "selection.anomaly_share: must be 'auto' or a share in [0, 1]"),
])
def test_ranges_are_checked_once_for_file_flags_and_screens(tmp_path, key, value, message):
    with pytest.raises(ConfigError, match=rf"^{tmp_path / 'config.yaml'}:2: " + message.replace("(", r"\(")
                       .replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        load_config(_write(tmp_path, f"selection:\n  {key}: {value}\n"))
    with pytest.raises(ConfigError, match="^dataset screen: " + message.split(":")[0]):
        Config().with_overrides("dataset screen", **{f"selection.{key}": value})


def test_a_bad_setting_names_the_line_of_its_key(tmp_path):
    path = _write(tmp_path, """\
        selection:
          function: f
          top_k: 7
          min_cluster_size: 1
        """)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:4: selection.min_cluster_size: must be a whole number of at least 2"


def test_every_selection_setting_is_a_key_of_the_selection_section(tmp_path):
    config = load_config(_write(tmp_path, """\
        selection:
          epsilon: 0.3
          top_k: 9
          anomaly_share: 0.5
          min_samples: 4
          cluster_similarity: 0.6
          min_cluster_size: 4
          duplicate_epsilon: 0.01
          density_mode: exact
          function: f
          system_prompts: {f: "You answer."}
        """))
    assert isinstance(config.selection, SelectionSettings)
    assert config.selection.settings_only() == SelectionSettings(
        epsilon=0.3, top_k=9, anomaly_share=0.5, min_samples=4, cluster_similarity=0.6,
        min_cluster_size=4, duplicate_epsilon=0.01, density_mode="exact")
    assert config.selection.function == "f" and config.selection.system_prompts == {"f": "You answer."}
    with pytest.raises(ConfigError, match=r"^\S+:2: selection.density_mode: expected one of 'auto', 'exact'"):
        load_config(_write(tmp_path, "selection:\n  density_mode: fastest\n"))


def test_sections_are_frozen_and_overrides_make_a_new_config(tmp_path):
    config = load_config(_write(tmp_path, "selection:\n  top_k: 7\n"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.selection.top_k = 8
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.output_dir = tmp_path
    with pytest.raises(TypeError):
        config.selection.system_prompts["f"] = "changed"  # type: ignore[index]
    changed = config.with_overrides(**{"selection.top_k": 9, "store.path": tmp_path / "s"})
    assert (config.selection.top_k, changed.selection.top_k) == (7, 9)
    assert config.store.path != changed.store.path and changed.feedback is config.feedback
    with pytest.raises(ConfigError, match="^command line: selection.top_kk: unknown key"):
        config.with_overrides(**{"selection.top_kk": 9})


def test_the_deprecated_trainer_key_is_read_as_the_provider(tmp_path):
    config = load_config(_write(tmp_path, "training:\n  trainer: local\n"))
    assert (config.training.provider, config.training.trainer) == ("local", None)
    defaults = Config()
    overridden = defaults.with_overrides(**{"training.trainer": "local"})
    assert overridden.training.provider == "local" and defaults.training.provider == "openai"
    with pytest.raises(ConfigError, match="training.trainer: 'local' contradicts training.provider: 'azure'"):
        load_config(_write(tmp_path, "training:\n  provider: azure\n  trainer: local\n"))


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
