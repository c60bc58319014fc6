"""What choosing epsilon from the data costs (VT-11): select_golden with epsilon="auto" vs a fixed epsilon.

Run: .venv/bin/python bench/auto_epsilon.py [--n 20000] [--repeats 3]

Data: the synthetic 384-d clustered embeddings of bench/density.py (the cost depends
on the row count and dimension, not on what the rows say). Three timings, interleaved
run by run so that machine load hits all alike:

- density pass only: epsilon_graph_stats at a fixed epsilon without min_samples, the
  one pass the selection made before VT-11;
- select_golden, fixed epsilon: the kNN pass (core logs need each log's 5th-neighbour
  similarity) plus the density pass, then clustering and picking;
- select_golden, epsilon auto: the same, with epsilon read off the kNN pass.

Figures are medians of ``--repeats`` rounds in one process.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import timed  # noqa: E402
from bench.density import embeddings  # noqa: E402
from vectortrainer.golden.density import epsilon_graph_stats  # noqa: E402
from vectortrainer.golden.selection import select_golden  # noqa: E402
from vectortrainer.settings import SelectionSettings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    x = embeddings(args.n)
    statuses = ["SUCCESS"] * args.n
    settings = SelectionSettings(top_k=20)
    auto = select_golden(x, statuses, settings)
    fixed_epsilon = auto.epsilon
    fixed = settings.replace(epsilon=fixed_epsilon)
    print(f"{args.n} logs x {x.shape[1]} dims; auto chose epsilon {fixed_epsilon:.3f}: {auto.epsilon_reason}")
    runs = {
        "density pass only": lambda: epsilon_graph_stats(x, fixed_epsilon),
        "select, fixed epsilon": lambda: select_golden(x, statuses, fixed),
        "select, epsilon auto": lambda: select_golden(x, statuses, settings),
    }
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            seconds[name].append(timed(run))
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    for name, values in seconds.items():
        print(f"{name:<22} median {medians[name]:6.2f} s  (runs: {', '.join(f'{s:.2f}' for s in values)})")
    base = medians["density pass only"]
    print(f"epsilon auto / fixed epsilon: {medians['select, epsilon auto'] / medians['select, fixed epsilon']:.2f}x; "
          f"epsilon auto / one density pass: {medians['select, epsilon auto'] / base:.2f}x")

if __name__ == "__main__":
    main()
