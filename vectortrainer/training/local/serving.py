"""Answering with a locally trained model in the user's own function.

:func:`vectortrainer.runtime.promoted_model` gives what the registry promoted for a function:
for a local run, the directory of a LoRA adapter. :func:`ask` loads that adapter on its base model
(named in the adapter's ``training_info.json``: ``smollm2`` or a path) and answers greedily::

    from vectortrainer.runtime import promoted_model
    from vectortrainer.training.local.serving import ask

    model = promoted_model("summarize_ticket", models_dir="models", default="smollm2")
    reply = ask(model, "The printer on floor two is jammed.", system="Summarise in one sentence.")

``default`` (and any ``model`` argument) may also be a packaged model's name, a ``.gguf`` file or a
``save_pretrained`` directory. The loaded model is kept until another one is asked for, so a
rollback (a new ``model`` string) loads the model that is promoted then.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vectortrainer.training.local.evaluation import generate_reply, load_for_replies
from vectortrainer.training.local.run import INFO_FILE

ADAPTER_CONFIG = "adapter_config.json"
DEFAULT_MAX_NEW_TOKENS = 128


@dataclass
class LocalModel:
    """A loaded base model (with its adapter, when ``model`` was one), ready to answer."""

    model: str
    base_model: str
    handle: Any
    tokenizer: Any
    device: str

    def answer(self, prompt: str | list[dict[str, str]], *, system: str | None = None,
               max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> str:
        """The greedy reply to ``prompt`` (a user message, or a whole conversation)."""
        if isinstance(prompt, str):
            messages = [{"role": "user", "content": prompt}]
            if system:
                messages.insert(0, {"role": "system", "content": system})
        else:
            messages = list(prompt)
        return generate_reply(self.handle, self.tokenizer, messages, self.device, max_new_tokens)


def base_of(model: str | Path) -> str:
    """The base model an adapter directory was trained on; ``model`` itself when it is no
    adapter."""
    directory = Path(model)
    info = directory / INFO_FILE
    if info.is_file():
        recorded = json.loads(info.read_text(encoding="utf-8"))
        return str(recorded.get("base_model_name") or recorded["base_model"])
    config = directory / ADAPTER_CONFIG
    if config.is_file():
        return str(json.loads(config.read_text(encoding="utf-8"))["base_model_name_or_path"])
    return str(model)


def load_local_model(model: str | Path) -> LocalModel:
    """``model`` loaded to answer: an adapter on its base, a merged directory, a base model."""
    base = base_of(model)
    served = None if str(base) == str(model) else Path(model)
    handle, tokenizer, device = load_for_replies(Path(base), served)
    return LocalModel(str(model), base, handle, tokenizer, device)


_lock = threading.Lock()
_loaded: dict[str, LocalModel] = {}


def ask(model: str | Path, prompt: str | list[dict[str, str]], *, system: str | None = None,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> str:
    """``model``'s reply to ``prompt``; the model is loaded at the first call and kept while the
    same ``model`` is asked (one at a time: a 135M model is ~0.5 GB in memory)."""
    with _lock:
        loaded = _loaded.get(str(model))
        if loaded is None:
            _loaded.clear()
            loaded = _loaded[str(model)] = load_local_model(model)
        return loaded.answer(prompt, system=system, max_new_tokens=max_new_tokens)
