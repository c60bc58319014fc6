"""Base models and tokenizers read from GGUF files, kept once per process.

Reading a GGUF file dequantises every tensor (SmolLM2-135M: ~20 s on two busy cores); a copy of
the loaded model takes ~2 s. One run reads the base several times (calibration, training, the
gate's replies of the base and of the adapter), so the first read is kept and every caller gets
its own deep copy: LoRA wraps a model's layers in place, so the kept one must never be handed out.
Only the most recent model is kept, to bound memory (a 135M model is ~0.5 GB in float32).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any, Iterator

_lock = threading.Lock()
_models: dict[tuple[str, str], Any] = {}
_tokenizers: dict[str, Any] = {}


def cached_model(key: tuple[str, str], load: Callable[[], Any]) -> Any:
    """A private copy of the model ``load`` gives for ``key`` (loaded once per process)."""
    with _lock:
        model = _models.get(key)
        if model is None:
            with _quiet_gguf_progress():
                model = load()
            _models.clear()
            _models[key] = model
        return copy.deepcopy(model)


def cached_tokenizer(key: str, load: Callable[[], Any]) -> Any:
    """A private copy of the tokenizer ``load`` gives for ``key`` (loaded once per process)."""
    with _lock:
        tokenizer = _tokenizers.get(key)
        if tokenizer is None:
            tokenizer = _tokenizers[key] = load()
        return copy.deepcopy(tokenizer)


def forget() -> None:
    """Drop what is kept (tests; a process that is done with local models)."""
    with _lock:
        _models.clear()
        _tokenizers.clear()


@contextmanager
def _quiet_gguf_progress() -> Iterator[None]:
    # transformers draws a raw tqdm bar while dequantising, outside its own progress-bar switch;
    # on stderr it would tear the terminal app and the --batch progress apart.
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    original = getattr(gguf_utils, "tqdm", None)
    if original is None:
        yield
        return

    def silent(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **{**kwargs, "disable": True})

    gguf_utils.tqdm = silent
    try:
        yield
    finally:
        gguf_utils.tqdm = original
