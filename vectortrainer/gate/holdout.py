"""The held-out split the gates judge on: golden examples the training never sees, and feedback
pairs.

Golden examples are held out per strategy (every ``every``-th steady pick and every
``every``-th anomaly pick), so both slices are judged; the rest is what the run trains
on. Feedback pairs are held out by a stable hash of their input and bad output, so a
pair is held out in every cycle or in none: a hook or a DPO model is never judged on
a pair it learned from. The split is written once per run (``holdout.jsonl``, with
``gate_train.jsonl`` beside it), so a resumed run is judged on the same cases:
:func:`prepare_holdout` makes it where a run first needs its training data, and reads
it back ever after.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vectortrainer.config import GateConfig
from vectortrainer.errors import DataFormatError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.preference import example_from_pair, reply_example
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.files import atomic_write_text, iter_jsonl_records, jsonl_line, jsonl_lines
from vectortrainer.golden.chatml import content_text
from vectortrainer.golden.picks import read_golden_picks
from vectortrainer.json_types import JSONObject
from vectortrainer.rules.learning import pairs_for_function
from vectortrainer.runs.directory import GOLDEN_PICKS_FILE, RunDirectory

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
    # the call's context as the function's hook sees it (a feedback pair's; golden examples keep
    # none), so the gate applies the hook to a reply as production would
    context: JSONObject = field(default_factory=dict)

    def to_dict(self) -> JSONObject:
        return asdict(self)


@dataclass(frozen=True)
class HeldOut:
    """A run's held-out split: the cases the gates judge on, and what training may see."""

    cases: list[HeldOutCase]
    # the golden examples training may see: gate_train.jsonl (golden.jsonl with the gate off)
    train_path: Path
    every: int  # one feedback pair in ``every`` is held out (below 2: none)

    def trainable(self, pairs: Iterable[FeedbackPair]) -> list[FeedbackPair]:
        """The pairs training may learn from: the held-out ones are the gate's feedback slice."""
        return split_pairs(pairs, self.every)[0]

    def describe(self, golden_examples: int, training: int, validation: int = 0) -> str:
        """What the gate holds out of ``golden_examples`` and what training sees (``training``
        examples, ``validation`` more to validate on), in words for the run's log."""
        golden = sum(case.slice != FEEDBACK_SLICE for case in self.cases)
        feedback = len(self.cases) - golden
        pairs = f" and {feedback} feedback pair{'' if feedback == 1 else 's'}" if feedback else ""
        checked = f" (+{validation} to validate on)" if validation else ""
        return (f"the gate holds out {golden} of {golden_examples} golden examples{pairs} to "
                f"judge on; training sees {training} example{'' if training == 1 else 's'}"
                f"{checked}")


def prepare_holdout(
    run: RunDirectory, gate: GateConfig, *, method: str, feedback_path: Path
) -> HeldOut:
    """The run's held-out split, made once (``holdout.jsonl``, ``gate_train.jsonl``) and read back.

    Golden examples are held out per strategy (the run's recorded picks); the feedback slice
    is every pair of the run's function, or, for a DPO run (which trains on pairs), only the
    pairs held out by their hash. With the gate off nothing is held out.
    """
    if not gate.enabled:
        return HeldOut([], run.golden_path, 0)
    path, train_path = run.path / HOLDOUT_FILE, run.path / GATE_TRAIN_FILE
    if path.exists() and train_path.exists():
        return HeldOut(read_cases(path), train_path, gate.holdout_every)
    picks_path = run.path / GOLDEN_PICKS_FILE
    strategies = (
        [p["strategy"] for p in read_golden_picks(picks_path)] if picks_path.exists() else None
    )
    cases = split_golden(
        run.golden_path, strategies, gate.holdout_every, train_path, limit=gate.max_cases
    )
    pairs = pairs_for_function(FeedbackStore(feedback_path).pairs(), run.state.function)
    if method == "dpo":
        pairs = split_pairs(pairs, gate.holdout_every)[1]  # a DPO run trains on the others
    cases += feedback_cases(pairs, golden_system_prompt(run.golden_path), limit=gate.max_cases)
    write_cases(path, cases)
    return HeldOut(cases, train_path, gate.holdout_every)


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
    lines = [line for line in jsonl_lines(golden_path.read_text(encoding="utf-8")) if line.strip()]
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
        example = reply_example(json.loads(line), f"{golden_path}:{index + 1}")
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
    cases: list[HeldOutCase] = []
    for pair in pairs:
        if len(cases) >= limit:
            break
        try:
            example = example_from_pair(pair, system_prompt)
        except DataFormatError:
            continue  # no input prompt, or nothing was fixed: nothing to replay
        cases.append(HeldOutCase(FEEDBACK_SLICE, example.messages, example.chosen,
                                 dict(pair.context)))
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
        path, "".join(jsonl_line(c.to_dict()) + "\n" for c in cases)
    )


def read_cases(path: Path) -> list[HeldOutCase]:
    """The held-out cases of a run; a damaged file names the line."""
    cases = []
    for record, where in iter_jsonl_records(path, what="held-out file"):
        try:
            context = record.get("context")
            cases.append(
                HeldOutCase(
                    str(record["slice"]), list(record["messages"]), str(record["reference"]),
                    dict(context) if isinstance(context, dict) else {},
                )
            )
        except (KeyError, TypeError):
            raise DataFormatError(
                f"{where}: not a held-out case (slice, messages, reference)"
            ) from None
    return cases
