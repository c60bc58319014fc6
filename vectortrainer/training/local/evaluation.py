"""Evaluation after local training: replay held-out golden inputs through the trained model.

Each held-out example's conversation (everything before its final assistant
reply) is rendered with the model's chat template and decoded greedily for a
short ``max_new_tokens``; the reply is scored against the golden reply with
normalised edit similarity (rapidfuzz's Levenshtein, 1.0 = identical). The same
replay through the base model (the LoRA adapter switched off) gives the figure
to beat, so a report says whether training helped, not only a number.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

from vectortrainer.errors import DataFormatError
from vectortrainer.feedback.preference import ReplyExample, reply_example
from vectortrainer.files import iter_jsonl_records
from vectortrainer.json_types import JSONObject
from vectortrainer.training.local.model import (
    check_model_dir,
    load_causal_lm,
    load_tokenizer,
    pick_device,
)
from vectortrainer.training.local.packaged import is_packaged_name

DEFAULT_MAX_NEW_TOKENS = 64
DEFAULT_LIMIT = 32


# A conversation to replay and the golden reply it should produce.
HeldOutExample = ReplyExample


@dataclass(frozen=True)
class EvaluatedExample:
    prompt: str  # the last user message, for display
    expected: str
    generated: str
    similarity: float
    base_generated: str | None = None
    base_similarity: float | None = None


@dataclass
class EvaluationReport:
    """Mean normalised edit similarity of the trained model (and of its base) on held-out
    examples."""

    n_examples: int
    mean_similarity: float
    base_mean_similarity: float | None
    max_new_tokens: int
    metric: str = "normalized_levenshtein_similarity"
    examples: list[EvaluatedExample] = field(default_factory=list)

    @property
    def improvement(self) -> float | None:
        if self.base_mean_similarity is None:
            return None
        return self.mean_similarity - self.base_mean_similarity

    def to_dict(self) -> JSONObject:
        data = asdict(self)
        data["improvement"] = self.improvement
        return data


def edit_similarity(generated: str, expected: str) -> float:
    """Normalised Levenshtein similarity in [0, 1]; two empty strings are identical (1.0)."""
    return float(Levenshtein.normalized_similarity(generated, expected))


def read_held_out(path: Path) -> list[HeldOutExample]:
    """Held-out examples from ChatML JSONL (final assistant reply = golden) or DPO JSONL (preferred
    reply)."""
    return [
        reply_example(record, where)
        for record, where in iter_jsonl_records(path, what="held-out file")
    ]


def evaluate_model(
    model: Any,
    tokenizer: Any,
    examples: Sequence[HeldOutExample],
    *,
    device: str,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    compare_base: bool = True,
) -> EvaluationReport:
    """Replay ``examples`` through a loaded model; with a peft model and ``compare_base``, also
    without the adapter."""
    if not examples:
        raise DataFormatError("evaluation needs at least one held-out example")
    was_training = model.training
    model.eval()
    try:
        generated = [
            generate_reply(model, tokenizer, ex.messages, device, max_new_tokens) for ex in examples
        ]
        base_generated: list[str] | None = None
        if compare_base and hasattr(model, "disable_adapter"):
            with model.disable_adapter():
                base_generated = [
                    generate_reply(model, tokenizer, ex.messages, device, max_new_tokens)
                    for ex in examples
                ]
    finally:
        model.train(was_training)
    scored = []
    for index, example in enumerate(examples):
        base_text = base_generated[index] if base_generated is not None else None
        scored.append(
            EvaluatedExample(
                prompt=_last_user_message(example.messages),
                expected=example.expected,
                generated=generated[index],
                similarity=edit_similarity(generated[index], example.expected),
                base_generated=base_text,
                base_similarity=None
                if base_text is None
                else edit_similarity(base_text, example.expected),
            )
        )
    base_scores = [s.base_similarity for s in scored if s.base_similarity is not None]
    return EvaluationReport(
        n_examples=len(scored),
        mean_similarity=statistics.fmean(s.similarity for s in scored),
        base_mean_similarity=statistics.fmean(base_scores) if base_scores else None,
        max_new_tokens=max_new_tokens,
        examples=scored,
    )


def load_for_replies(model_path: Path, served: Path | None = None) -> tuple[Any, Any, str]:
    """(model, tokenizer, device) to answer prompts: the base model, a LoRA adapter on it, or a
    merged model.

    ``served`` is what the registry names: an adapter directory (``adapter_config.json``),
    a merged model directory (``config.json``), or None / the base model itself.
    """
    model_dir = check_model_dir(model_path)
    device = pick_device()
    if served is not None and is_packaged_name(served):  # the base named as the registry names it
        served = check_model_dir(served)
    if served is not None and Path(served).resolve() != model_dir.resolve():
        served = Path(served)
        if not (served / "adapter_config.json").is_file():
            merged = check_model_dir(served)
            return load_causal_lm(merged, device).eval(), load_tokenizer(merged), device.kind
        # torch and its stack take seconds and GBs: only a local run needs them
        from peft import PeftModel

        model = PeftModel.from_pretrained(
            load_causal_lm(model_dir, device), str(served), local_files_only=True
        )
        return model.eval(), load_tokenizer(model_dir), device.kind
    return load_causal_lm(model_dir, device).eval(), load_tokenizer(model_dir), device.kind


def generate_reply(
    model: Any, tokenizer: Any, messages: list[dict[str, str]], device: str, max_new_tokens: int
) -> str:
    """The model's greedy reply to ``messages``, rendered with its own chat template."""
    return generate_counted(model, tokenizer, messages, device, max_new_tokens)[0]


def generate_counted(model: Any, tokenizer: Any, messages: list[dict[str, str]], device: str,
                     max_new_tokens: int) -> tuple[str, int, int]:
    """(reply, prompt tokens, generated tokens) of a greedy decode of ``messages``."""
    import torch  # torch and its stack take seconds and GBs: only a local run needs them

    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    encoded = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(device)
    with torch.no_grad():
        output = model.generate(
            **encoded,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    prompt_length = int(encoded["input_ids"].shape[1])
    new_tokens = output[0, prompt_length:]
    return (
        tokenizer.decode(new_tokens, skip_special_tokens=True).strip(),
        prompt_length,
        int(new_tokens.shape[0]),
    )


def _last_user_message(messages: list[dict[str, str]]) -> str:
    for message in reversed(messages):
        if message["role"] == "user":
            return message["content"]
    return ""
