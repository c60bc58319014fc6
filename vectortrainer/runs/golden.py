"""What a run does with its golden data beside training on it: adopt a file made elsewhere, and
publish its picks back into VectorWave once its model is promoted.

An adopted file (``TrainingPipeline.run(golden_path=...)``, e.g. the dataset screen's
export) stands for the extract stage, which the run then records as done by someone
else. A promoted run's picks (``golden_picks.json``) become VectorWave golden data,
its replayer's first regression cases (:mod:`vectortrainer.store.golden`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from vectortrainer.files import atomic_write_text
from vectortrainer.golden.picks import adopted_stats, read_golden_picks
from vectortrainer.json_types import JSONObject
from vectortrainer.runs.directory import GOLDEN_PICKS_FILE, RunDirectory
from vectortrainer.runs.status import StageStatus
from vectortrainer.store.golden import GoldenRegistry, publish_golden_picks


def adopt_golden(run: RunDirectory, source: Path, function: str) -> None:
    """Record ``source`` as the run's golden data: the extract stage is done, by someone else."""
    atomic_write_text(run.golden_path, source.read_text(encoding="utf-8"))
    golden = adopted_stats(run.golden_path)
    stage = run.state.stage("extract")
    stage.status = StageStatus.SKIPPED
    stage.finished_at = time.time()
    stage.detail.update({"function": function, "source": str(source), "golden": golden,
                         "note": f"{golden['examples']} examples from {source.name}"})
    run.save()


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
