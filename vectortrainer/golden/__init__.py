"""Golden data (FR-1): epsilon-graph density, selection of cluster centres and new patterns, ChatML,
the extractor.

- ``density``: epsilon-graph density, neighbour counts, components (exact, pruned exact,
  probed, approximate);
- ``kernel``: the exact block-pair tasks (one BLAS product, one compiled epilogue) and their
  merging;
- ``runners``: who runs those tasks: threads of this process, ``ray_runner``: Ray tasks on a
  cluster, or ``gpu_runner``: the products on a CUDA GPU; ``backends``: the one
  ``density.backend`` names;
- ``pruning``: k-means pieces, the angular bound that skips block pairs without neighbours, rows
  reordered in place; ``nearest``: each row's most similar centres, by tasks;
- ``probing``: pairs of the pieces nearest each row, calibrated on a sample, for loose clusters;
- ``ring``: sampled sums that estimate the neighbours those pairs miss;
- ``approximate``: faiss range-search density and its error measured on a sample;
- ``selection``: steady-state and anomaly picks from the density graph;
- ``chatml``: examples from real logs, the JSONL writer and validator;
- ``extractor``: one function's logs -> validated golden JSONL, with a report;
- ``picks``: what a run records of its picks and its golden statistics.

The map of a function's logs the faces draw is a read model of the application layer
(``workspace.vector_map``).
"""
