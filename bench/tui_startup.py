"""Time from launching the TUI to its first paint (median of several fresh processes).

Each run is a new Python process (`python bench/tui_startup.py --child T0`), so
imports are counted as a user would feel them. The child runs the real app
headless over a temporary directory (no store, so nothing loads in the
background) and prints the seconds from T0 (the parent's clock just before
spawning) until the first screen has been mounted and refreshed.

    .venv/bin/python bench/tui_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(started_at: float) -> None:
    sys.path.insert(0, str(ROOT))
    from tui.app import make_app
    from vectortrainer.config import Config

    workdir = Path(tempfile.mkdtemp(prefix="vt-tui-bench-"))
    config = Config().with_overrides(**{
        "store.path": workdir / "store", "hooks.dir": workdir / "hooks", "output_dir": workdir / "output"})
    app = make_app(config)
    painted: list[float] = []

    def first_paint() -> None:
        painted.append(time.time() - started_at)
        app.exit()

    app.call_after_refresh(lambda: app.screen.call_after_refresh(first_paint))
    app.run(headless=True, size=(120, 40))
    title_ok = app.title == "VectorTrainer"
    print(f"{painted[0]:.4f} {int(title_ok)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return 0
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="0")
    times = []
    for _ in range(args.runs):
        started = time.time()
        out = subprocess.run([sys.executable, __file__, "--child", repr(started)], capture_output=True,
                             text=True, env=env, cwd=ROOT, check=True).stdout.split()
        times.append(float(out[0]))
        assert out[1] == "1", "the header title is not VectorTrainer"
    median = statistics.median(times)
    print(f"tui first paint: median {median:.3f} s over {args.runs} runs "
          f"(min {min(times):.3f}, max {max(times):.3f}); target about 1 s -> {median / 1.0:.2f}x of target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
