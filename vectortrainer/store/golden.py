"""Golden data back into VectorWave: a promoted run's picks registered in VectorWave's own golden
dataset.

VectorWave's replayer takes golden entries as its first regression cases, so the
logs a promoted model was trained on become the checks its next change must pass.
Registration goes through the injected ``VectorWaveDatasetManager`` (or one over the
Lite store) with ``register_as_golden``; an entry's id is derived from its log's id
by VectorWave, so registering a pick twice keeps one entry.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

from vectortrainer.json_types import JSONObject
from vectortrainer.store.environment import open_dataset_manager
from vectortrainer.store.source import DatasetManager


class GoldenRegistry(Protocol):
    """What registration uses of a ``VectorWaveDatasetManager``."""

    def register_as_golden(self, uuid: str, *, note: str = ..., tags: list[str] = ...) -> bool: ...


class VectorWaveManager(DatasetManager, GoldenRegistry, Protocol):
    """What the pipeline uses of an injected ``VectorWaveDatasetManager`` (FR-1.5): its logs, and
    golden registration."""


def publish_golden_picks(
    uuids: Sequence[str],
    *,
    store_path: str | os.PathLike[str],
    dataset_manager: GoldenRegistry | None = None,
    note: str = "",
    tags: Sequence[str] = (),
) -> JSONObject:
    """Register every log in ``uuids`` as golden; returns
    ``{"registered": n, "failed": [uuid, ...]}`` (for the run's summary)."""
    manager = dataset_manager if dataset_manager is not None else open_dataset_manager(store_path)
    failed = [
        uuid for uuid in uuids if not manager.register_as_golden(uuid, note=note, tags=list(tags))
    ]
    return {"registered": len(uuids) - len(failed), "failed": failed}
