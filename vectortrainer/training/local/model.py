"""Loading a model the user owns, offline: device choice, tokenizer, model, LoRA settings.

Shared by the local trainer, its time-budget calibration and the evaluation
replay. Nothing here downloads: ``HF_HUB_OFFLINE`` is set and every
``from_pretrained`` call passes ``local_files_only=True``; a missing model is a
``ConfigError`` naming ``training.local_model``. Heavy imports (torch,
transformers, peft) happen inside the functions, never at module import time.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from vectortrainer.errors import ConfigError

# Module-name patterns LoRA adapts when peft has no default for the architecture.
FALLBACK_LORA_TARGETS = "all-linear"


@dataclass(frozen=True)
class LoraSettings:
    """LoRA hyperparameters (peft's ``LoraConfig`` fields of the same names)."""

    r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    target_modules: tuple[str, ...] | str | None = None  # None: peft's default for the architecture

    def to_dict(self) -> dict[str, Any]:
        targets = (
            list(self.target_modules)
            if isinstance(self.target_modules, tuple)
            else self.target_modules
        )
        return {
            "r": self.r,
            "lora_alpha": self.lora_alpha,
            "lora_dropout": self.lora_dropout,
            "target_modules": targets,
        }


@dataclass(frozen=True)
class DeviceInfo:
    """Where training runs, in words a user can check (``"cuda"`` or ``"cpu"``)."""

    kind: str
    description: str
    bf16: bool = False


def forbid_downloads() -> None:
    """Make every Hugging Face call in this process offline (nothing may be fetched at run time)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pick_device() -> DeviceInfo:
    """The first CUDA GPU when one is present, the CPU otherwise."""
    import torch  # torch and its stack take seconds and GBs: only a local run needs them

    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        return DeviceInfo("cuda", f"GPU ({name})", bf16=bool(torch.cuda.is_bf16_supported()))
    return DeviceInfo("cpu", f"CPU ({torch.get_num_threads()} threads)")


def check_model_dir(path: Path | str | None) -> Path:
    """The model directory, or a ``ConfigError`` saying what to put in ``training.local_model``."""
    if path is None or not str(path):
        raise ConfigError(
            "training.local_model: not set; give the path of a model you own "
            "(a directory with config.json, the weights and the tokenizer files)"
        )
    directory = Path(path).expanduser()
    if not directory.is_dir():
        raise ConfigError(
            f"training.local_model: {directory} is not a directory (nothing is downloaded)"
        )
    if not (directory / "config.json").is_file():
        raise ConfigError(
            f"training.local_model: {directory} has no config.json; "
            "point it at a directory written by save_pretrained (model + tokenizer)"
        )
    return directory


def load_tokenizer(path: Path) -> Any:
    """The tokenizer of the model at ``path``, with a pad token and a chat template checked."""
    forbid_downloads()
    # torch and its stack take seconds and GBs: only a local run needs them
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"training.local_model: cannot load a tokenizer from {path}: {exc}"
        ) from None
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError(
            f"training.local_model: the tokenizer in {path} has no chat_template; "
            "use a chat/instruct model or add a chat template to its tokenizer_config.json"
        )
    if tokenizer.eos_token is None:
        raise ConfigError(f"training.local_model: the tokenizer in {path} defines no eos token")
    if tokenizer.pad_token is None:
        # Padding positions are masked out of the loss, so reusing eos is safe.
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(path: Path, device: DeviceInfo) -> Any:
    """The causal LM at ``path`` on ``device`` (bf16 on GPUs that support it, fp32 otherwise)."""
    forbid_downloads()
    import torch  # torch and its stack take seconds and GBs: only a local run needs them
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # transformers 5 renamed gradient -> activation checkpointing; peft still asks by the old name.
    warnings.filterwarnings(
        "ignore", message=r".*checkpointing.* is deprecated", category=FutureWarning
    )
    dtype = torch.bfloat16 if device.bf16 else torch.float32
    try:
        model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, dtype=dtype)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"training.local_model: cannot load a causal LM from {path}: {exc}"
        ) from None
    return cast(Any, model).to(device.kind)  # transformers' stubs type .to for dtypes only


def lora_config(model_type: str | None, settings: LoraSettings) -> Any:
    """A peft ``LoraConfig``: peft's default targets for a known ``model_type``, else all linear
    layers."""
    # torch and its stack take seconds and GBs: only a local run needs them
    from peft import LoraConfig
    from peft.utils.constants import (
        TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as DEFAULT_TARGETS,
    )

    targets: Any = settings.target_modules
    if targets is None:
        targets = DEFAULT_TARGETS.get(model_type or "", FALLBACK_LORA_TARGETS)
    elif isinstance(targets, tuple):
        targets = list(targets)
    return LoraConfig(
        r=settings.r,
        lora_alpha=settings.lora_alpha,
        lora_dropout=settings.lora_dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
    )
