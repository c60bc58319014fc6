"""Golden data (FR-1): epsilon-graph density, selection of cluster centres and new patterns, ChatML, the extractor.

- ``density``: the density kernels (exact blocked products, ANN through faiss);
- ``selection``: steady-state and anomaly picks from the density graph;
- ``chatml``: examples from real logs, the JSONL writer and validator;
- ``extractor``: one function's logs -> validated golden JSONL, with a report;
- ``picks``: what a run records of its picks and its golden statistics;
- ``projection`` and ``vector_map``: the 2-D map of a function's logs the faces draw.
"""
