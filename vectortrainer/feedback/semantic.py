"""Semantic difference between texts (FR-2.2): cosine similarity of their MiniLM embeddings.

The model is the offline all-MiniLM-L6-v2 VectorWave embeds with, loaded lazily on first
use (it pulls torch: seconds) and run in batches. Rule learning screens out pairs whose fix
rewrites the meaning with it, and the model gate scores replies with it.
:func:`shared_scorer` is the one scorer of the process, so the model loads once.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from vectortrainer.store.environment import EMBEDDING_DIM, minilm_model_path, quiet_environment

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class SemanticScorer:
    """Cosine similarity between texts with the offline MiniLM model (loaded on first use)."""

    def __init__(self, model_path: str | None = None, *, batch_size: int = 64) -> None:
        self._model_path = model_path
        self._batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                quiet_environment()
                # pulls torch (seconds): only the semantic screen needs it
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(
                    self._model_path or minilm_model_path(), device="cpu"
                )
            return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings, one row per text (float32)."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def similarities(self, left: Sequence[str], right: Sequence[str]) -> np.ndarray:
        """Row-wise cosine similarity of ``left[i]`` and ``right[i]`` (one batched encode)."""
        if len(left) != len(right):
            raise ValueError("left and right must have the same length")
        vectors = self.embed(list(left) + list(right))
        n = len(left)
        return (
            np.einsum("ij,ij->i", vectors[:n], vectors[n:]) if n else np.zeros(0, dtype=np.float32)
        )


@functools.cache
def shared_scorer() -> SemanticScorer:
    """One MiniLM scorer per process: the model loads once (seconds), then every synthesis and
    every gate reuses it."""
    return SemanticScorer()
