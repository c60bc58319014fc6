"""A tiny randomly initialised causal LM + tokenizer built in a directory, with no download.

Tests and ``bench/local_train.py`` use it as "a model the user owns": a Llama-shaped
model with a few thousand parameters and a byte-level BPE tokenizer trained on the
fly, saved with ``save_pretrained`` so it loads exactly like a real local model
(``from_pretrained(path, local_files_only=True)``), chat template included.
"""

from __future__ import annotations

from pathlib import Path

# A ChatML-style template (what many small chat models use); the assistant turn ends with eos.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

SPECIAL_TOKENS = ["<pad>", "<|im_start|>", "<|im_end|>", "<unk>"]

_CORPUS = [
    "system user assistant",
    "You summarise support tickets in one short sentence.",
    "The printer on floor two is jammed again and nobody can print invoices.",
    "Printer jammed on floor two; invoices blocked.",
    "Customer cannot log in after the password reset email expired.",
    "Login fails: reset email expired.",
    "Refund requested for a duplicate charge on the March invoice.",
    "Duplicate March charge; refund requested.",
    "the quick brown fox jumps over the lazy dog 0 1 2 3 4 5 6 7 8 9 . , ; : ! ?",
]


def build_tiny_model(
    directory: Path,
    *,
    hidden_size: int = 32,
    layers: int = 2,
    heads: int = 2,
    vocab_size: int = 300,
    seed: int = 0,
) -> Path:
    """Write a tiny Llama causal LM and its tokenizer to ``directory``; return the directory."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    raw = Tokenizer(models.BPE(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator(_CORPUS, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(directory)

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(directory)
    return directory
