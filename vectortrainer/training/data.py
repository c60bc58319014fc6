"""The files a run trains on: golden ChatML (or DPO preference pairs), split off a validation file
when asked.

Both are written once per run, into the run directory, so a resumed run trains on
exactly what the first attempt estimated and uploaded. :func:`training_files` builds
them from what the held-out split (:mod:`vectortrainer.gate.holdout`) leaves to training.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.preference import PreferenceExport, export_run_preferences
from vectortrainer.files import atomic_write_text, jsonl_lines
from vectortrainer.runs.directory import RunDirectory

TRAIN_FILE = "train.jsonl"
VALIDATION_FILE = "validation.jsonl"
PREFERENCE_FILE = "preference.jsonl"


def split_for_validation(source: Path, directory: Path, share: float) -> tuple[Path, Path | None]:
    """``source`` as train / validation files in ``directory`` (every ``1/share``-th example held
    out).

    ``share`` 0 keeps ``source`` whole. The files are written once: an existing pair is reused.
    """
    if share <= 0:
        return source, None
    train, valid = directory / TRAIN_FILE, directory / VALIDATION_FILE
    if not (train.exists() and valid.exists()):
        lines = [line for line in jsonl_lines(source.read_text(encoding="utf-8")) if line.strip()]
        every = max(2, round(1 / share))
        held = [line for i, line in enumerate(lines) if i % every == every - 1]
        kept = [line for i, line in enumerate(lines) if i % every != every - 1]
        atomic_write_text(valid, "".join(f"{line}\n" for line in held))
        atomic_write_text(train, "".join(f"{line}\n" for line in kept))
    return train, valid


def preference_file(
    pairs: Callable[[], Iterable[FeedbackPair]],
    directory: Path,
    *,
    function: str | None,
    golden_path: Path,
    system_prompts: Mapping[str, str] | None,
) -> tuple[Path, PreferenceExport | None]:
    """The run's DPO file from the feedback ``pairs()`` (written once; ``None`` export when it
    already existed)."""
    path = directory / PREFERENCE_FILE
    if path.exists():
        return path, None
    export = export_run_preferences(pairs(), path, function=function, golden_path=golden_path,
                                    system_prompts=system_prompts)
    return path, export


@dataclass(frozen=True)
class TrainingFiles:
    """What a run trains on: the training file and the validation file (``None``: no split)."""

    train: Path
    validation: Path | None = None
    export: PreferenceExport | None = None  # what this call wrote to the DPO file, if it wrote it


def training_files(
    run: RunDirectory,
    *,
    method: str,
    golden: Path,
    pairs: Callable[[], Iterable[FeedbackPair]],
    system_prompts: Mapping[str, str] | None,
    validation_split: float,
) -> TrainingFiles:
    """The run's training data: ``golden`` (the examples training may see) or, for ``method``
    "dpo", the preference file of ``pairs()`` (asked only when the file is not written yet),
    split for validation when ``validation_split`` asks."""
    source, export = golden, None
    if method == "dpo":
        source, export = preference_file(pairs, run.path, function=run.state.function,
                                         golden_path=run.golden_path,
                                         system_prompts=system_prompts)
    train, validation = split_for_validation(source, run.path, validation_split)
    return TrainingFiles(train, validation, export)
