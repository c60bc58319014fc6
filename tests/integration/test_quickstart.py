"""The README's quickstart, done exactly as it says, in a fresh process: one call, decorate, call, exit at
once. Every call is in the store with its vector, and VectorTrainer reads it by the store folder or by the
folder VectorWave was pointed at."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import REPO_ROOT
from vectortrainer.cli import main
from vectortrainer.store.source import LogSource, store_exists

pytestmark = pytest.mark.slow
CALLS = 12

# The README's "Your own app" steps, word for word but for the store path and the function body.
APP = textwrap.dedent("""
    import sys
    import vectortrainer.quickstart as vt
    vt.log_to(sys.argv[1])

    from vectorwave import vectorize

    @vectorize(capture_inputs=True, capture_return_value=True)
    def summarize_ticket(ticket: str, tier: str) -> str:
        return f"Summary: {ticket} Priority: {'high' if tier == 'enterprise' else 'normal'}."

    for i in range(int(sys.argv[2])):
        summarize_ticket(f"Order {1000 + i} has not arrived.", "pro")
    # the process ends here at once: the last batch must not be lost
""")


def test_an_app_that_follows_the_quickstart_logs_every_call_with_its_vector(tmp_path: Path, capsys) -> None:
    store = tmp_path / "store"
    script = tmp_path / "app.py"
    script.write_text(APP, encoding="utf-8")
    run = subprocess.run([sys.executable, str(script), str(store), str(CALLS)], check=True, cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=300)
    assert store_exists(store), run.stderr[-3000:]  # VectorWave's own log names why nothing was written

    logs = LogSource.open(store).read_function("summarize_ticket")
    assert len(logs.records) == CALLS and logs.skipped == {}  # none lost at exit, none without a vector
    assert logs.vectors.shape == (CALLS, 384) and (abs(logs.vectors).sum(axis=1) > 0).all()
    assert logs.records[0].inputs == {"ticket": "Order 1000 has not arrived.", "tier": "pro"}

    # `--store` takes the store folder, and the folder VectorWave was pointed at (VECTORWAVE_LITE_PATH).
    for named in (store, store / "lance"):
        assert main(["functions", "--store", str(named)]) == 0
        assert "summarize_ticket" in capsys.readouterr().out


def test_an_app_whose_store_cannot_be_opened_exits_without_waiting_and_names_why(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    (store / "lance").write_text("a file where the store's folder must go", encoding="utf-8")
    script = tmp_path / "app.py"
    script.write_text(APP, encoding="utf-8")
    run = subprocess.run([sys.executable, str(script), str(store), "3"], check=True, cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=300)
    # This warning, not the one after the 30 s cap: the exit stopped waiting once the batch was
    # dropped.
    assert "not written: VectorWave could not open the store at" in run.stderr, run.stderr
    assert "FileExistsError" in run.stderr and str(store / "lance") in run.stderr
