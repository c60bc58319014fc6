"""Secrets never reach disk or a screen: real `--batch` runs against each provider's stand-in.

The key in the environment has no known shape (a random token, or a Together-style
``tgp_v1_`` key), and the provider echoes it in its failure message, as real providers
sometimes do: the value appears in no file of the run, nor on stdout or stderr.
"""

from __future__ import annotations

import json
import secrets
import string

import pytest

from tests.support.pipelines import config_file, copy_run
from vectortrainer.cli import main

pytestmark = pytest.mark.slow


def _random_token(length: int = 40) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _everything_written(directory) -> str:
    return "".join(path.read_text(encoding="utf-8", errors="replace") for path in directory.rglob("*")
                   if path.is_file())


@pytest.mark.parametrize("kind", ["random", "together-style"])
def test_a_key_of_no_known_shape_echoed_by_the_provider_is_in_no_file_and_on_no_screen(
        template, provider, tmp_path, capsys, monkeypatch, kind):
    key = _random_token() if kind == "random" else f"tgp_v1_{_random_token(43)}"
    provider.standin.api_key = key  # the stand-in now accepts only this key
    for variable in provider.env:
        monkeypatch.setenv(variable, key)
    provider.fail_next_job(f"the job failed: key {key} has no fine-tuning access")
    config = config_file(tmp_path, **provider.sections)
    run_id = copy_run(template, tmp_path / "out", estimate_again=True)

    code = main(["--batch", "--config", str(config), "--json", "--resume", run_id])
    captured = capsys.readouterr()

    assert code == 4, captured.err  # the key was accepted (a job ran) and the job failed
    report = json.loads(captured.out)
    assert "has no fine-tuning access" in report["message"] and "***" in report["message"]
    assert provider.jobs == 1
    written = _everything_written(tmp_path / "out" / "runs" / run_id)
    assert "has no fine-tuning access" in written  # the message itself was kept
    assert key not in written
    assert key not in captured.out and key not in captured.err


def test_a_key_pasted_into_api_key_env_is_refused_in_one_line_that_does_not_show_it(template, tmp_path, capsys):
    # A letter first: a token starting with a digit is refused earlier, as no variable name at all.
    key = secrets.choice(string.ascii_letters) + _random_token(39)
    config = config_file(tmp_path, training={"provider": "together"}, together={"api_key_env": key})
    run_id = copy_run(template, tmp_path / "out", estimate_again=True)

    code = main(["--batch", "--config", str(config), "--json", "--resume", run_id])
    captured = capsys.readouterr()

    assert code == 2
    assert "together.api_key_env" in captured.err and "looks like an API key" in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert key not in captured.out and key not in captured.err
    assert key not in _everything_written(tmp_path / "out")
