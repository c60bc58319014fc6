"""User corrections (FR-2.1, FR-2.2): feedback pairs, the file that keeps them, diffs, preference
(DPO) data.

- ``pair``: :class:`~vectortrainer.feedback.pair.FeedbackPair`;
- ``store``: the feedback JSONL file shared by every face (atomic, locked, malformed lines kept);
- ``from_logs``: a pair made from a log, rendered exactly as its ChatML example;
- ``diffing``: string difference (edit distance, token hunks);
- ``semantic``: semantic difference (MiniLM cosine similarity) and the process's one scorer;
- ``preference``: feedback as DPO preference JSONL, in OpenAI's and TRL's shapes;
- ``recording``: :func:`record`, the one call that records a correction from the user's code.
"""

from vectortrainer.feedback.recording import record

__all__ = ["record"]
