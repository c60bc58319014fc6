"""What listing runs costs with large event logs: `vectortrainer runs` and the web run list (issue 16 item 9).

Run: .venv/bin/python bench/runs_listing.py [--runs 10] [--mb 20] [--repeats 5]

Makes ``--runs`` finished runs in a temporary output directory, each with an
``events.jsonl`` of about ``--mb`` MB of ordinary events (progress and log lines,
written through the run's own EventLog), then times, median of ``--repeats``:

- ``list_runs``: what the CLI's `runs` and the web page's run list call;
- ``vectortrainer runs --json``: the whole command, in this process.

It also checks that listing changed no byte of any run's files. ``--drop-counts``
times runs written before the event-count sidecar existed (their lines are counted).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import timed  # noqa: E402
from vectortrainer.cli import main as cli_main  # noqa: E402
from vectortrainer.runs.directory import RunDirectory, list_runs, runs_root  # noqa: E402


def make_runs(output_dir: Path, runs: int, megabytes: float) -> None:
    filler = "x" * 180
    for n in range(runs):
        run = RunDirectory.create(output_dir, {}, run_id=f"20260101-0000{n:02d}-bench{n:02d}", function="draft_reply")
        lines = []
        line_bytes = 0
        seq = 0
        target = int(megabytes * 1_000_000)
        while line_bytes < target:
            seq += 1
            line = (f'{{"seq": {seq}, "ts": 1767225600.0, "type": "progress", "stage": "train", '
                    f'"done": {seq}, "total": 0, "message": "{filler}"}}\n')
            lines.append(line)
            line_bytes += len(line)
        with open(run.events_path, "a", encoding="utf-8") as handle:
            handle.write("".join(lines))
        run.events.append("log", message="last event, appended through the EventLog")
        run.state.status = "succeeded"
        run.save()


def snapshot(output_dir: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in runs_root(output_dir).rglob("*") if p.is_file()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--drop-counts", action="store_true",
                        help="delete the event-count sidecars first (runs written before they existed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vt-runs-bench-") as tmp:
        output_dir = Path(tmp)
        make_runs(output_dir, args.runs, args.mb)
        if args.drop_counts:
            for sidecar in runs_root(output_dir).rglob("events.jsonl.count"):
                sidecar.unlink()
        total_mb = sum(p.stat().st_size for p in runs_root(output_dir).rglob("events.jsonl")) / 1e6
        before = snapshot(output_dir)
        listing, command = [], []
        for _ in range(args.repeats):
            listing.append(timed(lambda: list_runs(output_dir)))
            sink = io.StringIO()
            with contextlib.redirect_stdout(sink):
                command.append(timed(lambda: cli_main(["runs", "--output-dir", str(output_dir), "--json"])))
        changed = snapshot(output_dir) != before
    print(f"{args.runs} runs, {total_mb:.0f} MB of events in all, {os.cpu_count()} CPUs")
    print(f"list_runs:                 median {statistics.median(listing):.3f} s  (min {min(listing):.3f}, max {max(listing):.3f})")
    print(f"vectortrainer runs --json: median {statistics.median(command):.3f} s  (min {min(command):.3f}, max {max(command):.3f})")
    print(f"run files changed by listing: {'YES' if changed else 'no'}")


if __name__ == "__main__":
    main()
