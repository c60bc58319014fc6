"""What the pipeline and --batch tests share: configs pointing at the stand-in, and template runs.

Extracting golden data from the seeded store is the slow part, so it happens a
few times per session: :func:`template_run` runs the *real* pipeline on the
seeded store up to the cost confirmation, declines it (nothing is uploaded),
and caches that run directory. Tests copy it into their own output directory
and resume it, which is exactly what a user does after a stop.

A pytest plugin too (``tests/conftest.py``): the ``template`` fixture is that run, and
``standin_env`` the OpenAI stand-in with its key in the environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.openai_standin import OpenAIStandIn
from vectortrainer.config import Config, load_config
from vectortrainer.pipeline import TrainingPipeline
from vectortrainer.runs.directory import RunDirectory, StageState
from vectortrainer.runs.status import RunStatus

FUNCTION = "summarize_ticket"
_TEMPLATES: dict[tuple[str, str], Path] = {}


def write_config(path: Path, *, store: Path, output_dir: Path, base_url: str | None = None,
                 feedback: Path | None = None, **sections: dict[str, Any]) -> Path:
    """A config file for tests: fast polling, the stand-in's URL, everything under tmp dirs."""
    data: dict[str, Any] = {
        "store": {"path": str(store)},
        "output_dir": str(output_dir),
        "selection": {"function": FUNCTION},
        "feedback": {"path": str(feedback or output_dir / "no-feedback.jsonl")},
        "hooks": {"dir": str(output_dir.parent / "hooks")},
        "models": {"dir": str(output_dir.parent / "models")},
        "training": {"poll_interval_s": 0.01},
    }
    if base_url:
        data["openai"] = {"base_url": base_url, "max_retries": 3}
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def config_file(tmp_path: Path, base_url: str | None = None, *, store: Path | None = None,
                feedback: Path | None = None, **sections: dict[str, Any]) -> Path:
    """``tmp_path/config.yaml`` with the output under ``tmp_path/out`` and the store ``store``
    (by default one that is not there: a resumed copy of the template run needs none)."""
    return write_config(tmp_path / "config.yaml", store=store or tmp_path / "unused-store",
                        output_dir=tmp_path / "out", base_url=base_url, feedback=feedback,
                        **sections)


def make_config(tmp_path: Path, store: Path, base_url: str | None = None, *, feedback: Path | None = None,
                **sections: dict[str, Any]) -> Config:
    return load_config(config_file(tmp_path, base_url, store=store, feedback=feedback, **sections))


def demo_feedback(directory: Path) -> Path:
    from vectortrainer.demo.feedback import write_demo_feedback

    path = directory / "feedback.jsonl"
    if not path.exists():
        write_demo_feedback(path)
    return path


def template_run(seeded_store: Path, scratch: Path) -> Path:
    """A real run of the seeded store stopped at the cost confirmation (cached per session)."""
    key = (str(seeded_store), "declined")
    if key not in _TEMPLATES:
        scratch.mkdir(parents=True, exist_ok=True)
        feedback = demo_feedback(scratch)
        config = load_config(write_config(scratch / "config.yaml", store=seeded_store, output_dir=scratch / "out",
                                          feedback=feedback))
        # A key must be set for a run to start (checked before any work); declined at the confirmation,
        # the run never sends it.
        with placeholder_key():
            outcome = TrainingPipeline(config, confirm=lambda estimate: False).run(run_id="template-run")
        assert outcome.status == RunStatus.NOT_APPROVED, outcome.message
        _TEMPLATES[key] = outcome.run_dir
    return _TEMPLATES[key]


@contextlib.contextmanager
def placeholder_key(variable: str = "OPENAI_API_KEY") -> Iterator[None]:
    """``variable`` set (to a key no request ever carries) unless it already is, for a run that stops
    before its first request; restored afterwards."""
    before = os.environ.get(variable)
    os.environ[variable] = before or "sk-placeholder-never-sent"
    try:
        yield
    finally:
        if before is None:
            del os.environ[variable]


def copy_run(template: Path, output_dir: Path, run_id: str | None = None, *, estimate_again: bool = False) -> str:
    """Copy a run directory into ``output_dir/runs`` (as ``run_id`` when given); returns its run id.

    ``estimate_again`` forgets the template's estimate (made for OpenAI), so a run resumed with
    another provider estimates, checks and confirms for that provider.
    """
    run_id = run_id or template.name
    target = output_dir / "runs" / run_id
    shutil.copytree(template, target, ignore=shutil.ignore_patterns(".lock"))
    if run_id != template.name:
        state = json.loads((target / "run.json").read_text(encoding="utf-8"))
        state["run_id"] = run_id
        (target / "run.json").write_text(json.dumps(state), encoding="utf-8")
    run = RunDirectory.open(output_dir, run_id)  # still a loadable run
    if estimate_again:
        run.state.stages["estimate"] = StageState()
        run.estimate_path.unlink(missing_ok=True)
        run.save()
    return run_id


@pytest.fixture
def template(seeded_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's run of the seeded store, stopped at the cost confirmation (copy it)."""
    return template_run(seeded_store, tmp_path_factory.getbasetemp() / "pipeline-template")


@pytest.fixture
def standin_env(openai_standin: OpenAIStandIn, monkeypatch: pytest.MonkeyPatch) -> OpenAIStandIn:
    """The OpenAI stand-in, its key in ``OPENAI_API_KEY``."""
    monkeypatch.setenv("OPENAI_API_KEY", openai_standin.api_key)
    return openai_standin
