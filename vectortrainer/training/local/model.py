"""Loading a model the user owns, offline: device choice, tokenizer, model, LoRA settings.

The model is a ``save_pretrained`` directory, a ``.gguf`` file (read through transformers' GGUF
support, dequantised, kept once per process by ``loaded``), or a packaged model's name
(``smollm2``, see ``packaged``).

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
from vectortrainer.files import sha256_file
from vectortrainer.training.local.loaded import cached_model, cached_tokenizer
from vectortrainer.training.local.packaged import (
    PACKAGED_MODELS,
    is_gguf_file,
    is_packaged_name,
    locate_packaged,
    require_gguf_reader,
)

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
    """The model ``training.local_model`` names: a packaged model's name (``smollm2``), a ``.gguf``
    file, or a directory written by ``save_pretrained``; else a ``ConfigError`` saying what to put
    there."""
    if path is None or not str(path):
        raise ConfigError(
            "training.local_model: not set; write smollm2 (the packaged SmolLM2-135M-Instruct) or "
            "the path of a model you own (a directory with config.json, the weights and the "
            "tokenizer files, or a .gguf file)"
        )
    if is_packaged_name(path):
        return locate_packaged(str(path))
    directory = Path(path).expanduser()
    if is_gguf_file(directory):
        require_gguf_reader(directory)
        return directory
    if not directory.is_dir():
        known = ", ".join(sorted(PACKAGED_MODELS))
        raise ConfigError(
            f"training.local_model: {directory} is not a directory, a .gguf file or a "
            f"packaged model ({known}); nothing is downloaded"
        )
    if not (directory / "config.json").is_file():
        raise ConfigError(
            f"training.local_model: {directory} has no config.json; "
            "point it at a directory written by save_pretrained (model + tokenizer)"
        )
    return directory


def pretrained_source(path: Path) -> tuple[str, dict[str, str]]:
    """What ``from_pretrained`` takes for the model at ``path``: its folder and, for a GGUF file,
    ``gguf_file``."""
    if is_gguf_file(path):
        return str(path.parent), {"gguf_file": path.name}
    return str(path), {}


def model_fingerprint(path: Path) -> str:
    """SHA-256 that identifies the base model: its config.json, or the whole GGUF file."""
    return sha256_file(path if is_gguf_file(path) else path / "config.json")


def load_tokenizer(path: Path) -> Any:
    """The tokenizer of the model at ``path``, with a pad token and a chat template checked."""
    forbid_downloads()
    # torch and its stack take seconds and GBs: only a local run needs them
    from transformers import AutoTokenizer

    folder, extra = pretrained_source(path)

    def load() -> Any:
        return AutoTokenizer.from_pretrained(folder, local_files_only=True, **extra)

    try:
        tokenizer = cached_tokenizer(str(path), load) if extra else load()
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
    if is_gguf_file(path):
        # Saving an adapter, peft looks for the base's config.json, which a GGUF folder lacks; the
        # vocabulary is unchanged, as the warning then assumes.
        warnings.filterwarnings(
            "ignore", message=r"Could not find a config file in", category=UserWarning
        )
    dtype = torch.bfloat16 if device.bf16 else torch.float32
    folder, extra = pretrained_source(path)

    def load() -> Any:
        model = AutoModelForCausalLM.from_pretrained(
            folder, local_files_only=True, dtype=dtype, **extra
        )
        return plain_weights(model, path) if extra else model

    try:
        # Only GGUF files are kept: dequantising is slow, a saved directory loads in a blink.
        model = cached_model((str(path), str(dtype)), load) if extra else load()
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"training.local_model: cannot load a causal LM from {path}: {exc}"
        ) from None
    return cast(Any, model).to(device.kind)  # transformers' stubs type .to for dtypes only


def plain_weights(model: Any, path: Path) -> Any:
    """A model read from a GGUF file, marked as the plain float model it is once dequantised.

    transformers keeps a GGUF "quantizer" on it, and its Trainer refuses to train a quantized
    model; after dequantising nothing is quantized any more, so the marks go.
    """
    if any(not p.is_floating_point() for p in model.parameters()) or any(
        type(m).__name__.lower().startswith("gguf") for m in model.modules()
    ):
        raise ConfigError(
            f"training.local_model: {path} was loaded with its weights still in GGUF blocks, "
            "which cannot be trained; use a save_pretrained directory instead"
        )
    model.hf_quantizer = None
    if "is_quantized" in vars(model):
        model.is_quantized = False
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    return model


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
