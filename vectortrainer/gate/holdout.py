"""The held-out split the gates judge on: golden examples the training never sees, and feedback
pairs.

Golden examples are held out per strategy (every ``every``-th steady pick and every
``every``-th anomaly pick), so both slices are judged; the rest is what the run trains
on. Feedback pairs are held out by a stable hash of their input and bad output, so a
pair is held out in every cycle or in none: a hook or a DPO model is never judged on
a pair it learned from. The split is written once per run (``holdout.jsonl``, with
``gate_train.jsonl`` beside it), so a resumed run is judged on the same cases.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vectortrainer.errors import DataFormatError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.preference import example_from_pair
from vectortrainer.files import atomic_write_text, iter_jsonl_records
from vectortrainer.golden.chatml import content_text
from vectortrainer.training.local.evaluation import held_out_from_record

HOLDOUT_FILE = "holdout.jsonl"
GATE_TRAIN_FILE = "gate_train.jsonl"
FEEDBACK_SLICE = "feedback"
GOLDEN_SLICE = "golden"  # golden data adopted from a file: its strategies are not known


@dataclass(frozen=True)
class HeldOutCase:
    """One input to replay (``messages``, ending with the user turn) and the reference reply."""

    slice: str  # "steady", "anomaly", "feedback" (or "golden")
    messages: list[dict[str, str]]
    reference: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pair_is_held_out(pair: FeedbackPair, every: int) -> bool:
    """Whether ``pair`` belongs to the held-out share ``1/every`` (stable across runs and
    processes)."""
    if every < 2:
        return False
    digest = hashlib.sha256(f"{pair.input_prompt}\x00{pair.bad_output}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % every == 0


def split_pairs(
    pairs: Iterable[FeedbackPair], every: int
) -> tuple[list[FeedbackPair], list[FeedbackPair]]:
    """(pairs to learn from, held-out pairs)."""
    learn: list[FeedbackPair] = []
    held: list[FeedbackPair] = []
    for pair in pairs:
        (held if pair_is_held_out(pair, every) else learn).append(pair)
    return learn, held


def split_golden(golden_path: Path, strategies: Sequence[str] | None, every: int, train_path: Path,
                 *, limit: int) -> list[HeldOutCase]:
    """Hold out every ``every``-th example of each strategy; write the rest to ``train_path``.

    ``strategies[i]`` is the strategy of the i-th line of ``golden_path`` (the run's
    recorded picks); without them every example is one "golden" slice. A slice with
    fewer than ``every`` but at least two examples still gives up its last one, so
    a small slice (a few anomaly picks) is judged too. At most ``limit`` cases per
    slice are held out.
    """
    lines = [line for line in golden_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if strategies is not None and len(strategies) != len(lines):
        strategies = None  # picks and file disagree (edited?): judge the file as one slice
    slices = [
        strategies[index] if strategies is not None else GOLDEN_SLICE for index in range(len(lines))
    ]
    held = _held_out_indices(slices, every, limit)
    cases: list[HeldOutCase] = []
    kept: list[str] = []
    for index, line in enumerate(lines):
        if index not in held:
            kept.append(line)
            continue
        example = held_out_from_record(json.loads(line), f"{golden_path}:{index + 1}")
        cases.append(HeldOutCase(slices[index], example.messages, example.expected))
    atomic_write_text(train_path, "".join(f"{line}\n" for line in kept))
    return cases


def _held_out_indices(slices: Sequence[str], every: int, limit: int) -> set[int]:
    if every < 2 or limit < 1:
        return set()
    positions: dict[str, list[int]] = {}
    for index, name in enumerate(slices):
        positions.setdefault(name, []).append(index)
    held: set[int] = set()
    for indices in positions.values():
        chosen = indices[every - 1::every] or (indices[-1:] if len(indices) >= 2 else [])
        held.update(chosen[:limit])
    return held


def feedback_cases(
    pairs: Iterable[FeedbackPair], system_prompt: str | None, *, limit: int
) -> list[HeldOutCase]:
    """The feedback slice: each pair's input asked as the training data asks it; its fixed output is
    the reference."""
    cases = []
    for pair in pairs:
        if len(cases) >= limit:
            break
        try:
            example = example_from_pair(pair, system_prompt)
        except DataFormatError:
            continue  # no input prompt, or nothing was fixed: nothing to replay
        cases.append(HeldOutCase(FEEDBACK_SLICE, example.messages, example.chosen))
    return cases


def golden_system_prompt(golden_path: Path) -> str | None:
    """The system message the run's golden examples carry (feedback cases are asked the same
    way)."""
    for record, _ in iter_jsonl_records(golden_path, what="golden data"):
        messages = record.get("messages") if isinstance(record, dict) else None
        if messages and messages[0].get("role") == "system":
            return content_text(messages[0].get("content")) or ""
        return None
    return None


def write_cases(path: Path, cases: Sequence[HeldOutCase]) -> None:
    atomic_write_text(
        path, "".join(json.dumps(c.to_dict(), ensure_ascii=False) + "\n" for c in cases)
    )


def read_cases(path: Path) -> list[HeldOutCase]:
    """The held-out cases of a run; a damaged file names the line."""
    cases = []
    for record, where in iter_jsonl_records(path, what="held-out file"):
        try:
            cases.append(
                HeldOutCase(
                    str(record["slice"]), list(record["messages"]), str(record["reference"])
                )
            )
        except (KeyError, TypeError):
            raise DataFormatError(
                f"{where}: not a held-out case (slice, messages, reference)"
            ) from None
    return cases
