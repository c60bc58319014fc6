"""What a run does with its golden data beside training on it: know where it came from, adopt a file
made elsewhere, and publish its picks back into VectorWave once its model is promoted.

Every function its own data (VT-18): a run of ``F`` trains only on ``F``'s golden data, and
``run.json`` says where that data came from (``provenance``: the function, the file's
SHA-256, its origin in words). The extract stage records the logs it read; an adopted file
(``TrainingPipeline.run(golden_path=...)``, e.g. the dataset screen's export) is checked
first by :func:`check_golden_file`:

- an export (the dataset screen, ``vectortrainer select``) leaves an *export record* beside
  the file (``<file>.provenance.json``: the function and the file's SHA-256, written by
  :func:`write_export_record`); while the file still has that hash, the record decides: a
  file exported for another function is refused;
- a file with no record (made elsewhere, or changed since its export) is checked by its
  system prompts: a prompt derived for another function (``You are the function `G(...)```),
  or another function's configured prompt (``selection.system_prompts``), refuses it; any
  other prompt (hand-written data) is taken, and ``run.json`` says it came from that file
  with no export record.

The adopted file stands for the extract stage, which the run then records as done by someone
else. A promoted run's picks (``golden_picks.json``) become VectorWave golden data, its
replayer's first regression cases (:mod:`vectortrainer.store.golden`).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vectortrainer.errors import ConfigError
from vectortrainer.files import atomic_write_bytes, atomic_write_text, sha256_file
from vectortrainer.golden.chatml import content_text
from vectortrainer.golden.picks import adopted_stats, read_golden_picks
from vectortrainer.json_types import JSONObject
from vectortrainer.runs.directory import GOLDEN_PICKS_FILE, RunDirectory
from vectortrainer.runs.status import StageStatus
from vectortrainer.store.golden import GoldenRegistry, publish_golden_picks

EXPORT_RECORD_SUFFIX = ".provenance.json"
# The system prompt derived for a function without a configured one (golden.chatml).
_DERIVED_PROMPT = re.compile(r"\s*You are the function `([^`(]+)\(")


@dataclass(frozen=True)
class GoldenFile:
    """A golden file checked for a run: its bytes (what the run will train on) and provenance."""

    path: Path
    data: bytes
    provenance: JSONObject


def export_record_path(path: str | os.PathLike[str]) -> Path:
    """Where the export record of the golden file ``path`` lives (beside it)."""
    path = Path(path)
    return path.with_name(path.name + EXPORT_RECORD_SUFFIX)


def write_export_record(
    path: str | os.PathLike[str], function: str, *, source: str = ""
) -> JSONObject:
    """Record beside the exported file ``path`` that it holds ``function``'s golden data (with the
    file's SHA-256, so a changed file is no longer vouched for); returns the record."""
    path = Path(path)
    record: JSONObject = {
        "format": 1,
        "function": function,
        "sha256": sha256_file(path),
        "file": path.name,
        "source": source or f"export of {function}",
        "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_write_text(export_record_path(path), json.dumps(record, indent=2) + "\n")
    return record


def read_export_record(path: str | os.PathLike[str]) -> JSONObject | None:
    """The export record of ``path`` (``None``: none, or one that cannot be read)."""
    try:
        record = json.loads(export_record_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def check_golden_file(
    path: str | os.PathLike[str],
    function: str,
    *,
    system_prompts: Mapping[str, str] | None = None,
) -> GoldenFile:
    """``path`` read once and checked to hold ``function``'s golden data (see the module
    docstring); a file of another function raises :class:`ConfigError` in one line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: golden data file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: golden data file cannot be read: {exc.strerror}") from None
    digest = hashlib.sha256(data).hexdigest()
    record = read_export_record(path)
    provenance: JSONObject = {"function": function, "sha256": digest, "path": str(path.absolute())}
    if record is not None and record.get("sha256") == digest:
        recorded = str(record.get("function") or "")
        if recorded != function:
            raise ConfigError(
                f"{path.name} is golden data of {recorded or 'no function'} (its export record, "
                f"{export_record_path(path).name}); this run trains {function}: export "
                f"{function}'s golden data, or start without the file (the run then extracts it)"
            )
        exported_at = record.get("exported_at")
        provenance.update(origin="export", exported_at=exported_at,
                          source=f"export of {function} ({path})")
        return GoldenFile(path, data, provenance)
    others = sorted(_functions_named(data, system_prompts or {}, function))
    if others:
        raise ConfigError(
            f"{path.name} holds golden data of {', '.join(others)} (its system prompt names "
            f"{'it' if len(others) == 1 else 'them'}); this run trains {function}: export "
            f"{function}'s golden data, or start without the file (the run then extracts it)"
        )
    why = "changed since its export" if record is not None else "no export record"
    provenance.update(origin="file", source=f"{path}, made elsewhere ({why})")
    return GoldenFile(path, data, provenance)


def _functions_named(data: bytes, prompts: Mapping[str, str], function: str) -> set[str]:
    """The functions other than ``function`` whose prompt a system message of ``data`` is (a
    prompt ``function``'s own as well never counts)."""
    configured: dict[str, set[str]] = {}
    for name, prompt in prompts.items():
        if prompt and prompt.strip():
            configured.setdefault(prompt, set()).add(name)
    seen: set[str] = set()
    others: set[str] = set()
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # not this check's business: the estimate validates the file
        messages = record.get("messages") if isinstance(record, dict) else None
        first = messages[0] if isinstance(messages, list) and messages else None
        if not isinstance(first, dict) or first.get("role") != "system":
            continue
        text = content_text(first.get("content"))
        if text is None or text in seen:
            continue
        seen.add(text)
        names = set(configured.get(text, ()))
        derived = _DERIVED_PROMPT.match(text)
        if derived:
            names.add(derived.group(1))
        if names and function not in names:
            others |= names
    return others


def adopt_golden(
    run: RunDirectory,
    source: Path | GoldenFile,
    function: str,
    *,
    system_prompts: Mapping[str, str] | None = None,
) -> None:
    """Record ``source`` (checked by :func:`check_golden_file` unless it already was) as the run's
    golden data: the extract stage is done, by someone else, and ``run.json`` says by whom."""
    golden = (
        source
        if isinstance(source, GoldenFile)
        else check_golden_file(source, function, system_prompts=system_prompts)
    )
    if golden.provenance.get("function") != function:
        raise ConfigError(
            f"{golden.path.name} was checked for {golden.provenance.get('function')}, "
            f"not for {function}"
        )
    atomic_write_bytes(run.golden_path, golden.data)
    stats = adopted_stats(run.golden_path)
    stage = run.state.stage("extract")
    stage.status = StageStatus.SKIPPED
    stage.finished_at = time.time()
    stage.detail.update({"function": function, "source": str(golden.path), "golden": stats,
                         "note": f"{stats['examples']} examples from {golden.path.name}"})
    run.state.provenance = dict(golden.provenance)
    run.save()


def record_extracted(run: RunDirectory, function: str, source: str) -> JSONObject:
    """Record in ``run.json`` that the run's golden data are ``function``'s, extracted by the run
    itself from ``source`` (the store, in words); returns the record."""
    provenance: JSONObject = {
        "function": function,
        "sha256": sha256_file(run.golden_path),
        "origin": "extract",
        "source": source,
        "path": str(run.golden_path),
    }
    run.state.provenance = provenance
    run.save()
    return provenance


def publish_picks(
    run: RunDirectory,
    *,
    store_path: str | os.PathLike[str],
    dataset_manager: GoldenRegistry | None = None,
) -> JSONObject:
    """Register the run's picks in VectorWave's golden dataset (through ``dataset_manager``, a
    ``VectorWaveDatasetManager``, else one over ``store_path``); returns ``{"registered": n,
    "failed": [uuid, ...]}`` (and a ``note`` when the run recorded no picks)."""
    picks_path = run.path / GOLDEN_PICKS_FILE
    if not picks_path.exists():
        return {
            "registered": 0,
            "failed": [],
            "note": "no recorded picks (golden data adopted from a file)",
        }
    uuids = [pick["uuid"] for pick in read_golden_picks(picks_path)]
    return publish_golden_picks(
        uuids,
        store_path=store_path,
        dataset_manager=dataset_manager,
        note=f"VectorTrainer run {run.run_id}",
        tags=["vectortrainer", run.run_id],
    )
