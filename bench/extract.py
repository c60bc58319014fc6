"""Benchmark of a whole golden-data extraction from a VectorWave Lite store (VT-1, VT-2, issue 27).

Run: .venv/bin/python bench/extract.py [--logs 20000,50000,100000] [--geometry realistic|synthetic]
                                       [--epsilon auto|E] [--store DIR]

For each size, builds a VectorWave Lite store with that many logs of one function written
through the store API (``store.insert_many`` on the executions collection), with
VectorWave-shaped properties (function_name, status, JSON-encoded return_value, timestamp_utc,
trace_id and one property per captured argument). Then times, from opening the store to a
validated golden JSONL: open, read, density, selection, write, validate, with the peak RSS of the
extraction alone (the store is built in one child process, the extraction runs in another).

Geometry (``--geometry``):

* ``realistic`` (default): real MiniLM embeddings of real requests, interpolated within an
  intent, noise 0.25, 0.5% real out-of-scope requests and 2% failed calls
  (``bench/scale_realistic.py``), at the product's defaults (``--epsilon auto``);
* ``synthetic``: 120 tight clusters (noise 0.35), 300 lone new patterns, 2% failed calls
  (:mod:`vectortrainer.demo.synthetic`); its figures were taken at ``--epsilon 0.15``.

Printed per size: time per stage, the density mode chosen, the error of D on 500 sampled rows,
peak RSS; then the growth exponent of the total time between consecutive sizes (1 = linear).
Targets: <= 60 s at 100k logs, <= 10 min and < 4 GB at 1M. The extraction reads the store
through ``LogSource.open`` (Lance tables, no VectorWave import); only building it imports
VectorWave.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import math
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from vectortrainer.demo.synthetic import FUNCTION, fill_store, write_logs  # noqa: E402
from vectortrainer.store.environment import quiet_environment, store_exists  # noqa: E402

DIM = 384


def build_store(store: Path, n: int, geometry: str) -> float:
    """Writes ``n`` logs of ``geometry`` into ``store``; returns the seconds taken."""
    if geometry == "synthetic":
        return fill_store(store, n)
    from scale_realistic import realistic_logs

    vectors, statuses = realistic_logs(n, seed=n)
    return write_logs(store, vectors, np.zeros(n, dtype=np.int64), statuses)


def _keeping_extractor():
    from vectortrainer.golden.extractor import DensityBasedExtractor

    class Keeping(DensityBasedExtractor):
        """Keeps the selection, for the density check after the run."""

        selection = None

        def select(self, logs):
            self.selection = super().select(logs)
            return self.selection

    return Keeping


def extract(store: Path, function: str, epsilon: float | str, top_k: int, out: Path,
            check: int) -> dict:
    """One extraction of ``function``'s logs from ``store``, timed; its figures (run in a fresh
    process)."""
    quiet_environment()
    from vectortrainer.settings import SelectionSettings
    from vectortrainer.store.source import LogSource

    started = time.perf_counter()
    source = LogSource.open(store)
    opened = time.perf_counter() - started
    extractor = _keeping_extractor()(settings=SelectionSettings(epsilon=epsilon, top_k=top_k),
                                     source=source)
    report = extractor.extract_golden_data(function, out)
    total = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    error = report.density_error
    figures = {
        "logs": report.total_logs, "usable": report.usable_logs, "skipped": report.skipped,
        "excluded": report.excluded, "mode": report.density_mode,
        "mode_error": error.describe() if error is not None else "",
        "steady": report.steady, "anomaly": report.anomaly, "clusters": report.clusters,
        "valid": report.validation.ok, "timings": {"open": opened, **report.timings},
        "total": total, "peak_mib": peak, "vectorwave": "vectorwave" in sys.modules,
        "check": "",
    }
    if check:
        assert extractor.selection is not None
        figures["check"] = _sample_check(source, function, extractor.selection, check)
    return figures


def _sample_check(source, function: str, selection, sample_size: int) -> str:
    """The extraction's densities against exact density of sampled rows (after the peak RSS was
    read)."""
    from vectortrainer.golden.approximate import density_error
    from vectortrainer.golden.density import similarity_threshold, unit_rows

    logs = source.read_function(function)  # read again: the extraction let go of its copy
    unit, _ = unit_rows(logs.vectors[selection.participating], copy=False)
    del logs
    error = density_error(unit, similarity_threshold(selection.epsilon),
                          selection.density[selection.participating], sample_size,
                          np.random.default_rng(1))
    return "no rows" if error is None else error.describe()


def _epsilon(text: str) -> float | str:
    return text if text == "auto" else float(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", default="100000", help="sizes, comma-separated")
    parser.add_argument("--geometry", choices=["realistic", "synthetic"], default="realistic")
    parser.add_argument("--epsilon", type=_epsilon, default="auto",
                        help="auto (the product's default) or a number")
    parser.add_argument("--store", type=Path, default=None,
                        help="store folder, for one size (default: a temp folder per size)")
    parser.add_argument("--function", default=FUNCTION,
                        help=f"the function whose logs are extracted (default: {FUNCTION})")
    parser.add_argument("--top-k", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None,
                        help="golden JSONL to write, for one size (default: next to the store)")
    parser.add_argument("--check", type=int, default=500, metavar="ROWS",
                        help="rows whose density is checked against brute force after (0: none)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.logs.split(",")]
    if (args.store is not None or args.out is not None) and len(sizes) > 1:
        parser.error("--store and --out take one size")
    quiet_environment()
    spawn = multiprocessing.get_context("spawn")
    rows = []
    for n in sizes:
        store = args.store or Path(tempfile.mkdtemp(prefix="vt-bench-")) / "store"
        if not store_exists(store):
            print(f"writing {n} {args.geometry} logs into {store} through store.insert_many ...",
                  flush=True)
            with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as child:
                seconds = child.submit(build_store, store, n, args.geometry).result()
            print(f"  written in {seconds:.1f} s (not part of the extraction time)")
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as child:
            row = child.submit(extract, store, args.function, args.epsilon, args.top_k,
                               args.out or store.parent / "golden.jsonl", args.check).result()
        rows.append(row)
        print(f"{row['logs']} logs of {args.function}: {row['usable']} usable, skipped "
              f"{row['skipped']}, excluded {row['excluded']}; epsilon {args.epsilon}")
        error = f", {row['mode_error']}" if row["mode_error"] else ""
        print(f"density mode {row['mode']}{error}")
        print(f"picked {row['steady']} steady + {row['anomaly']} anomaly from {row['clusters']} "
              f"dense clusters; valid: {row['valid']}")
        for stage, seconds in row["timings"].items():
            print(f"  {stage:<10} {seconds:7.2f} s")
        target = "<= 60 s" if row["logs"] <= 100_000 else "<= 600 s"
        print(f"  {'total':<10} {row['total']:7.2f} s   (target {target})")
        print(f"  peak RSS   {row['peak_mib']:7.0f} MiB   (vectors alone "
              f"{row['logs'] * DIM * 4 / 2**20:.0f} MiB; VectorWave imported: {row['vectorwave']})")
        if row["check"]:
            print(f"  density against one-row-by-all-rows products: {row['check']}", flush=True)
    for a, b in zip(rows, rows[1:], strict=False):
        exponent = math.log(b["total"] / a["total"]) / math.log(b["logs"] / a["logs"])
        print(f"growth {a['logs']} -> {b['logs']}: time x{b['total'] / a['total']:.1f} for "
              f"x{b['logs'] / a['logs']:.1f} logs (exponent {exponent:.2f})")


if __name__ == "__main__":
    main()
