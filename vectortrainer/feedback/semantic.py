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
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

# What the model's sentence-transformers config says: 256 tokens, mean pooling, unit length.
MAX_TOKENS = 256


class SemanticScorer:
    """Cosine similarity between texts with the offline MiniLM model (loaded on first use).

    The model runs through transformers itself, pooled and normalised as its
    sentence-transformers config says: the same vectors, without loading sentence-transformers
    (140 MB less, which keeps a 10,000-pair rule synthesis under 1 GB).
    """

    def __init__(self, model_path: str | None = None, *, batch_size: int = 64) -> None:
        self._model_path = model_path
        self._batch_size = batch_size
        self._loaded: tuple[PreTrainedTokenizerBase, PreTrainedModel] | None = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
        with self._lock:
            if self._loaded is None:
                quiet_environment()
                # pulls torch (seconds): only the semantic screen and scores need it
                from transformers import AutoModel, AutoTokenizer

                path = self._model_path or minilm_model_path()
                self._loaded = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path)
                self._loaded[1].eval()
            return self._loaded

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings, one row per text (float32)."""
        vectors = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        if not texts:
            return vectors
        import torch

        tokenizer, model = self._load()
        # longest first, so each batch pads to texts of about its own length
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), self._batch_size):
                batch = order[start:start + self._batch_size]
                encoded = tokenizer([texts[i] for i in batch], padding=True, truncation=True,
                                    max_length=MAX_TOKENS, return_tensors="pt")
                hidden = model(**encoded).last_hidden_state
                mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                vectors[batch] = torch.nn.functional.normalize(mean, dim=1).numpy()
        return vectors

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
