"""The loop's edges (issue 29, finding 8): a crash between recording a cycle and creating its run, a clock set
back, and an interval that never ends.

The pipeline is the recording double of tests/unit/test_loop.py; the crash is a real one: a child process that
dies (``os._exit``) after the loop wrote its state and before the run existed, as a killed scheduler would.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.unit.test_loop import Counts, RecordingPipeline
from vectortrainer.cli import main
from vectortrainer.config import Config
from vectortrainer.errors import ConfigError, MissingAPIKeyError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.loop import DAY_S, read_state, run_cycle, run_loop

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {"selection.function": "f", "loop.min_new_logs": 10, "loop.min_new_feedback": 2,
            "loop.max_cycles_per_day": 2}


@pytest.fixture
def config(tmp_path: Path) -> Config:
    RecordingPipeline.calls = []
    return Config().with_overrides(**SETTINGS, output_dir=tmp_path / "out", **{"feedback.path": tmp_path / "fb.jsonl"})


CRASHING_CYCLE = """
import os, sys
from pathlib import Path
from tests.unit.test_loop import Counts
from vectortrainer.config import Config
from vectortrainer.loop import run_cycle

class DiesBeforeTheRunExists:
    def __init__(self, config):
        self.config = config

    def run(self, *, run_id=None, golden_path=None):
        os._exit(9)  # killed: no except, no finally, no run directory

out, feedback = Path(sys.argv[1]), Path(sys.argv[2])
config = Config().with_overrides(**{settings!r}, output_dir=out, **{{"feedback.path": feedback}})
run_cycle(config, pipeline_factory=DiesBeforeTheRunExists, source=Counts(355))
"""


def test_a_crash_between_recording_a_cycle_and_creating_its_run_loses_nothing(config, tmp_path):
    FeedbackStore(config.feedback.path).add_many([FeedbackPair(f"bad {i}", f"good {i}", f"p {i}",
                                                               {"function": "f"}) for i in range(27)])
    child = subprocess.run([sys.executable, "-c", CRASHING_CYCLE.format(settings=SETTINGS),
                            str(config.output_dir), str(config.feedback.path)], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
    assert child.returncode == 9, child.stderr
    crashed = read_state(config, "f")
    assert (crashed.logs_seen, crashed.feedback_seen) == (355, 27)  # taken, and never trained
    intended = crashed.cycles[-1]["run_id"]

    again = run_cycle(config, pipeline_factory=RecordingPipeline, source=Counts(355))

    assert again.ran, again.message  # not "nothing to do"
    assert RecordingPipeline.calls == [("run", intended)]  # the same cycle, redone under its own id
    state = read_state(config, "f")
    assert len(state.cycles) == 1 and state.cycles[-1]["status"] == "succeeded"
    assert not run_cycle(config, pipeline_factory=RecordingPipeline, source=Counts(355)).ran  # and done once


def test_a_refused_redo_gives_back_what_the_cycle_took(config, tmp_path):
    """The redone cycle is refused before its run begins (a key missing now): what it took is new again."""
    from tests.unit.test_loop_own_function import RefusedBeforeItBegins

    child = subprocess.run([sys.executable, "-c", CRASHING_CYCLE.format(settings=SETTINGS),
                            str(config.output_dir), str(config.feedback.path)], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
    assert child.returncode == 9, child.stderr
    with pytest.raises(MissingAPIKeyError, match="OPENAI_API_KEY"):
        run_cycle(config, pipeline_factory=RefusedBeforeItBegins, source=Counts(355))
    state = read_state(config, "f")
    assert state.cycles == [] and state.logs_seen == 0
    assert run_cycle(config, pipeline_factory=RecordingPipeline, source=Counts(355)).trigger.new_logs == 355


def test_the_daily_limit_survives_the_clock_set_back_two_days(config):
    now = time.time()
    for _ in range(2):  # the limit: 2 cycles a day
        run_cycle(config, pipeline_factory=RecordingPipeline, source=Counts(100 * (len(RecordingPipeline.calls) + 1)),
                  now=now)
    back = now - 2 * DAY_S  # the clock is set back two days

    right_after = run_cycle(config, pipeline_factory=RecordingPipeline, source=Counts(300), now=back + 60)
    assert not right_after.ran and "2 cycles in the last 24 h" in right_after.message  # the limit still holds
    a_day_later = run_cycle(config, pipeline_factory=RecordingPipeline, source=Counts(300),
                            now=back + 60 + DAY_S + 60)
    assert a_day_later.ran, a_day_later.message  # not blocked for the two days of the jump, plus one
    recorded = read_state(config, "f").cycles
    assert [c["started_at"] for c in recorded[:2]] == [back + 60, back + 60]
    assert recorded[0]["recorded_started_at"] == now


def test_an_interval_that_never_ends_is_one_line(config, capsys, tmp_path):
    assert main(["loop", "--interval", "inf", "--function", "f", "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--interval:" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    for interval in (math.inf, math.nan, 0.0, -5.0):
        with pytest.raises(ConfigError, match="interval_s: expected a positive duration"):
            run_loop(config, interval_s=interval, pipeline_factory=RecordingPipeline)
    assert RecordingPipeline.calls == []  # refused before any cycle
