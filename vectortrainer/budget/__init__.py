"""What a fine-tune costs before anything is paid for (FR-6, VT-8): prices, tokens, estimates, guards.

- ``pricing``: price per model, retirement dates, aliases and fine-tuned names;
- ``encodings``: tiktoken's BPE data, offline and hash-verified;
- ``tokens``: counting a JSONL file's tokens the way the vendor bills them;
- ``estimates``: the one :class:`~vectortrainer.budget.estimates.Estimate` protocol, in dollars or in minutes;
- ``guards``: refusing a run over its budget, before any upload;
- ``view``: what the budget confirmation shows of any estimate.
"""
