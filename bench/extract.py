"""Benchmark of a whole golden-data extraction on a 100,000-log Lite store (VT-1, VT-2).

Run: .venv/bin/python bench/extract.py [--logs N] [--store DIR]

Builds (once, reused when it already holds N logs) a VectorWave Lite store with N
logs of one function written through the store API (``store.insert_many`` on the
executions collection): synthetic 384-d vectors in clusters of mixed sizes, a few
hundred lone new patterns, 2% failed calls, and VectorWave-shaped properties
(function_name, status, JSON-encoded return_value, timestamp_utc, trace_id and one
property per captured argument). Then times, from opening the store to a validated
golden JSONL: open, read, density, selection, write, validate, with the peak RSS of
the extraction alone (the store is built in a child process). Targets: <= 60 s at
100k logs, <= 10 min and < 4 GB at 1M. The extraction reads the store through
``LogSource.open`` (Lance tables, no VectorWave import); only building the store
imports VectorWave.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vectortrainer.demo.synthetic import FUNCTION, fill_store  # noqa: E402
from vectortrainer.store.environment import quiet_environment, store_exists  # noqa: E402

DIM = 384


def _keeping_extractor():
    from vectortrainer.golden.extractor import DensityBasedExtractor

    class Keeping(DensityBasedExtractor):
        """Keeps the selection, for the density check after the run."""

        selection = None

        def select(self, logs):
            self.selection = super().select(logs)
            return self.selection

    return Keeping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=100_000)
    parser.add_argument("--store", type=Path, default=None, help="store folder (default: a temp folder)")
    parser.add_argument("--top-k", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None, help="golden JSONL to write (default: next to the store)")
    parser.add_argument("--check", type=int, default=500, metavar="ROWS",
                        help="rows whose density is checked against brute force afterwards (0: none)")
    args = parser.parse_args()
    quiet_environment()
    store = args.store or Path(tempfile.mkdtemp(prefix="vt-bench-")) / "store"
    if not store_exists(store):
        print(f"writing {args.logs} logs into {store} through store.insert_many ...", flush=True)
        # In a child process: the parent's peak RSS is then the extraction's alone.
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
            seconds = child.submit(fill_store, store, args.logs).result()
        print(f"  written in {seconds:.1f} s (not part of the extraction time)")

    from vectortrainer.store.source import LogSource

    started = time.perf_counter()
    source = LogSource.open(store)
    opened = time.perf_counter() - started
    out = args.out or store.parent / "golden.jsonl"
    from vectortrainer.settings import SelectionSettings

    settings = SelectionSettings(epsilon=0.15, top_k=args.top_k)
    extractor = _keeping_extractor()(settings=settings, source=source)
    report = extractor.extract_golden_data(FUNCTION, out)
    total = time.perf_counter() - started
    timings = {"open": opened, **report.timings}
    print(f"{report.total_logs} logs of {FUNCTION}: {report.usable_logs} usable, skipped {report.skipped}, "
          f"excluded {report.excluded}")
    error = report.density_error
    print(f"density mode {report.density_mode}" + (f", {error.describe()}" if error is not None else ""))
    print(f"picked {report.steady} steady + {report.anomaly} anomaly from {report.clusters} dense clusters; "
          f"valid: {report.validation.ok}")
    for stage, seconds in timings.items():
        print(f"  {stage:<10} {seconds:7.2f} s")
    target = "<= 60 s" if report.total_logs <= 100_000 else "<= 600 s"
    print(f"  {'total':<10} {total:7.2f} s   (target {target})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"  peak RSS   {peak:7.0f} MiB   (vectors alone {report.total_logs * DIM * 4 / 2**20:.0f} MiB; "
          f"VectorWave imported: {'vectorwave' in sys.modules})")
    if args.check:
        assert extractor.selection is not None
        print(f"  density against one-row-by-all-rows products: {_sample_check(source, extractor.selection, args.check)}")


def _sample_check(source, selection, sample_size: int) -> str:
    """The extraction's densities against exact density of sampled rows (after the peak RSS was read)."""
    from vectortrainer.golden.approximate import density_error
    from vectortrainer.golden.density import similarity_threshold, unit_rows

    logs = source.read_function(FUNCTION)  # read again: the extraction let go of its copy
    unit, _ = unit_rows(logs.vectors[selection.participating], copy=False)
    del logs
    error = density_error(unit, similarity_threshold(selection.epsilon), selection.density[selection.participating],
                          sample_size, np.random.default_rng(1))
    return "no rows" if error is None else error.describe()


if __name__ == "__main__":
    main()
