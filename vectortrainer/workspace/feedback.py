"""Corrections as the faces record them: list, record from a log, edit the fix, delete (FR-2.1).

Pairs live in the configured feedback file (``feedback.path``), written atomically by
:class:`~vectortrainer.feedback.store.FeedbackStore`. A correction of a log is rendered
exactly as that log's ChatML example, so rules and DPO data agree with the golden data.
"""

from __future__ import annotations

from pathlib import Path

from vectortrainer.feedback.diffing import DiffSegment, diff_segments
from vectortrainer.feedback.from_logs import editable_output, pair_from_log
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackEntry, FeedbackRead, FeedbackStore
from vectortrainer.rules.learning import functions_of, teaches
from vectortrainer.store.records import LogRecord
from vectortrainer.workspace.base import UseCases


class Feedback(UseCases):
    """The workspace's feedback file."""

    @property
    def path(self) -> Path:
        return Path(self._workspace.config.feedback.path)

    def store(self) -> FeedbackStore:
        return FeedbackStore(self.path)

    def entries(self, function: str | None = None) -> list[FeedbackEntry]:
        """The recorded pairs (``entry_id``, ``pair``, ``line``), in file order: those the rules
        of ``function`` learn from (its own and the untagged ones) when it is given, else all."""
        return [entry for entry in self.store().list() if teaches(entry.pair, function)]

    def read(self) -> FeedbackRead:
        """Every valid pair, with the malformed lines and the lines read with U+FFFD."""
        return self.store().read()

    def functions(self) -> list[str]:
        """The functions the recorded pairs are tagged with, sorted."""
        return functions_of(self.read().pairs)

    @staticmethod
    def editable_output(record: LogRecord) -> str:
        """A log's output as the text a person corrects."""
        return editable_output(record)

    @staticmethod
    def correction(record: LogRecord, edited: str) -> FeedbackPair:
        """The pair a correction of ``record`` makes (rendered exactly as its ChatML example)."""
        return pair_from_log(record, edited)

    @staticmethod
    def diff(bad: str, fixed: str) -> list[DiffSegment]:
        """The token diff of a correction, for display."""
        return diff_segments(bad, fixed)

    def record(self, pair: FeedbackPair) -> str:
        """Store a new feedback pair; returns its id."""
        return self.store().add(pair)

    def edit(self, entry: FeedbackEntry, fixed_output: str) -> None:
        """Replace the fixed output of a stored pair (its bad output, input and context stay)."""
        pair = entry.pair
        edited = FeedbackPair(pair.bad_output, fixed_output, pair.input_prompt, pair.context)
        self.store().edit(entry.entry_id, edited)

    def delete(self, entry_id: str) -> None:
        self.store().delete(entry_id)
