"""What a fine-tune costs and whether it may start, before anything is paid for (FR-6, VT-8, VT-14).

- ``catalog``: each provider's published facts (models, prices, dates, job limits), with their
  sources;
- ``schedule``: those dates applied: refusing a job past a cutoff or a shutdown, warning 30 days
  ahead;
- ``pricing``: price per model and provider, aliases and fine-tuned names;
- ``encodings``: tiktoken's BPE data, offline and hash-verified;
- ``tokens``: counting a JSONL file's tokens the way the vendor bills them;
- ``estimates``: the one :class:`~vectortrainer.budget.estimates.Estimate` protocol, in dollars or
  in minutes;
- ``guards``: refusing a run over its budget, before any upload (``hold_to_its_budget``: the one
  guard of a run's estimate, dollars or minutes);
- ``notes``: what a run logs and records of its estimate, in its unit;
- ``approval``: the one approval policy: who approves a run's cost, on what grounds;
- ``inference``: what the evaluation gate's replies cost.
"""
