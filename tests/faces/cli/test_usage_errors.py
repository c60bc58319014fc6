"""Usage errors that used to be tracebacks are one line and exit code 2 (issue 16 item 8)."""

from __future__ import annotations

import time

import pytest

from vectortrainer.cli import main
from vectortrainer.config import load_config
from vectortrainer.errors import ConfigError


def _one_line(err: str) -> None:
    assert "Traceback" not in err
    assert err.strip().startswith("error:") and len(err.strip().splitlines()) <= 3  # rich may wrap one line


def test_a_config_that_is_not_utf8_is_one_line(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_bytes("selection:\n  function: caf\xe9\n".encode("latin-1"))
    assert main(["functions", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    _one_line(err)
    assert "not UTF-8" in err and "config.yaml:2" in err


def _alias_bomb(levels: int = 9) -> str:
    lines = ["selection:", "  system_prompts:", '    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghijk"[: levels - 1]:
        lines.append(f"    {name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    return "\n".join(lines) + "\n"


def _one_value_bomb(levels: int = 9) -> str:
    """All the anchors inside one value, so a walk over that value meets every expansion."""
    parts = ['&a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghijk"[: levels - 1]:
        parts.append(f"&{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    return "selection:\n  system_prompts:\n    a: [" + ", ".join(parts) + "]\n"


@pytest.mark.parametrize("text", [_alias_bomb(), _one_value_bomb(), "keys: &k {a: [*k, *k]}\n",
                                  "schedule: &s\n  x: *s\n"])
def test_an_alias_bomb_or_loop_is_refused_quickly(tmp_path, text):
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="aliases are expanded"):
        load_config(config)
    assert time.perf_counter() - started < 5


@pytest.mark.timeout(60)
def test_an_alias_bomb_is_exit_2_in_the_cli(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(_one_value_bomb(), encoding="utf-8")
    assert main(["functions", "--config", str(config)]) == 2
    _one_line(capsys.readouterr().err)


def test_ordinary_aliases_still_work(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("schedule: &s {together: '2027-01-01'}\nkeys: {a: b}\n", encoding="utf-8")
    assert load_config(config).schedule == {"together": "2027-01-01"}


def test_select_out_pointing_at_a_folder_is_one_line_before_reading(tmp_path, capsys):
    folder = tmp_path / "golden"
    folder.mkdir()
    assert main(["select", "--store", str(tmp_path / "no-store"), "--function", "f", "--out", str(folder)]) == 2
    err = capsys.readouterr().err
    _one_line(err)
    assert "is a folder" in err and "golden.jsonl" in err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["select", "--store", str(tmp_path / "no-store"), "--function", "f", "--out", str(blocker / "g.jsonl")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
