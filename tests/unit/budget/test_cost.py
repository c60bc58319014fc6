"""Cost guardrail: vendor-style token counts, prices, retirement, auto epochs, budget (FR-6, VT-8)."""

from __future__ import annotations

import datetime as dt
import json
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from vectortrainer.budget.encodings import forget_loaded_encodings, get_encoding
from vectortrainer.budget.estimates import CostEstimate, auto_epochs, estimate_training_cost
from vectortrainer.budget.guards import check_budget
from vectortrainer.budget.catalog import OPENAI, PROVIDERS
from vectortrainer.budget.pricing import MODEL_TRAINING_PRICES, resolve_model
from vectortrainer.budget.tokens import count_tokens_in_jsonl
from vectortrainer.cli.exit_codes import exit_code_for_error
from vectortrainer.config import BudgetConfig, Config
from vectortrainer.errors import (
    BudgetExceededError,
    ConfigError,
    DataFormatError,
    RetiredModelError,
    UnknownModelError,
    VectorTrainerError,
)

BEFORE_RETIREMENT = dt.date(2026, 6, 1)
AFTER_RETIREMENT = dt.date(2026, 10, 23)


def write_jsonl(path: Path, examples: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples), encoding="utf-8")
    return path


def chat(user: str, assistant: str, system: str | None = None, name: str | None = None) -> dict:
    messages = []
    if system is not None:
        messages.append({"role": "system", "content": system})
    user_message = {"role": "user", "content": user}
    if name is not None:
        user_message["name"] = name
    messages.append(user_message)
    messages.append({"role": "assistant", "content": assistant})
    return {"messages": messages}


def guide_count(example: dict, encoding_name: str) -> int:
    """The data-preparation guide's formula, written out with tiktoken's own encode."""
    encoding = get_encoding(encoding_name)
    total = 3  # reply priming
    for message in example["messages"]:
        total += 3
        for key, value in message.items():
            total += len(encoding.encode(value))
            if key == "name":
                total += 1
    return total


EXAMPLES = [
    chat("What is 2 + 2?", "4", system="You are a calculator."),
    chat("Summarise: the cat sat on the mat.", "A cat sat on a mat.", name="alice"),
    chat("번역해 주세요: good morning", "좋은 아침입니다 🌅"),
    chat("x" * 500, "y " * 300, system=""),
]


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    forget_loaded_encodings()
    yield
    forget_loaded_encodings()


@pytest.mark.parametrize(
    "model, encoding",
    [
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4.1-2025-04-14", "o200k_base"),
        ("ft:gpt-4o-mini-2024-07-18:acme:support:abc123", "o200k_base"),
    ],
)
def test_counts_equal_the_guide_formula_with_tiktoken_offline(no_network, tmp_path, model, encoding):
    path = write_jsonl(tmp_path / "train.jsonl", EXAMPLES)
    counted = count_tokens_in_jsonl(path, model, today=BEFORE_RETIREMENT)
    expected = [guide_count(e, encoding) for e in EXAMPLES]
    assert counted.encoding == encoding
    assert counted.n_examples == len(EXAMPLES)
    assert counted.total_tokens == sum(expected)
    assert counted.max_example_tokens == max(expected)
    assert counted.too_long == []


def test_cl100k_counts_for_gpt35_before_its_retirement(no_network, tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", EXAMPLES)
    counted = count_tokens_in_jsonl(path, "gpt-3.5-turbo", today=BEFORE_RETIREMENT)
    assert counted.encoding == "cl100k_base"
    assert counted.total_tokens == sum(guide_count(e, "cl100k_base") for e in EXAMPLES)
    assert counted.total_tokens != count_tokens_in_jsonl(path, "gpt-4o-mini").total_tokens


def test_known_small_example_by_hand(no_network, tmp_path):
    # "hello world" is 2 tokens in o200k_base; "user"/"assistant" 1 each; "hi" 1.
    path = write_jsonl(tmp_path / "t.jsonl", [chat("hello world", "hi")])
    assert count_tokens_in_jsonl(path, "gpt-4o-mini").total_tokens == 3 + (3 + 1 + 2) + (3 + 1 + 1)


def test_fine_tuned_name_uses_base_encoding_not_tiktoken_prefix_table():
    import tiktoken

    name = "ft:gpt-4.1-mini-2025-04-14:acme::xyz"
    assert tiktoken.encoding_name_for_model(name) == "cl100k_base"  # tiktoken's prefix table is wrong here
    info = resolve_model(name)
    assert info.base == "gpt-4.1-mini-2025-04-14"
    assert info.encoding == "o200k_base"
    assert info.price_per_million == MODEL_TRAINING_PRICES["gpt-4.1-mini-2025-04-14"]
    assert info.is_fine_tuned


def test_checkpoint_names_and_aliases_map_to_base():
    assert resolve_model("ft:gpt-4o-2024-08-06:acme:x:abc:ckpt-step-10").base == "gpt-4o-2024-08-06"
    assert resolve_model("gpt-4o-mini").base == "gpt-4o-mini-2024-07-18"


def test_unknown_model_is_refused_and_lists_known_models():
    with pytest.raises(UnknownModelError) as info:
        resolve_model("gpt-9-ultra")
    assert isinstance(info.value, VectorTrainerError)
    assert "gpt-4o-mini-2024-07-18" in str(info.value) and "budget.prices" in str(info.value)
    with pytest.raises(UnknownModelError):
        estimate_training_cost(1000, "davinci-002", 3)


def test_retired_model_is_refused_with_its_date():
    assert resolve_model("gpt-4.1-nano-2025-04-14", today=BEFORE_RETIREMENT).price_per_million == 1.50
    for model in ("gpt-4.1-nano-2025-04-14", "gpt-3.5-turbo", "gpt-3.5-turbo-0125", "ft:gpt-3.5-turbo:acme::x"):
        with pytest.raises(RetiredModelError, match="retired on 2026-10-23"):
            resolve_model(model, today=AFTER_RETIREMENT)


def test_price_override_from_config_and_extension():
    config = Config(budget=BudgetConfig(prices={"gpt-4o-mini-2024-07-18": 6.0, "gpt-4o-custom": 12.0}))
    assert resolve_model("gpt-4o-mini", config.budget.prices).price_per_million == 6.0
    assert resolve_model("gpt-4o-custom", config.budget.prices).encoding == "o200k_base"
    assert estimate_training_cost(1_000_000, "gpt-4o-mini", 2, prices=config.budget.prices) == pytest.approx(12.0)


@pytest.mark.parametrize(
    "model, price",
    [(m, p) for m, p in MODEL_TRAINING_PRICES.items()],
)
def test_estimate_is_price_times_tokens_times_epochs(model, price):
    usd = estimate_training_cost(200_000, model, 3, today=BEFORE_RETIREMENT)
    assert usd == pytest.approx(price / 1_000_000 * 200_000 * 3)


@pytest.mark.parametrize(
    "n, epochs",
    [(1, 25), (3, 25), (4, 25), (5, 20), (10, 10), (33, 3), (34, 3), (100, 3), (8333, 3), (8334, 2), (12_500, 2), (30_000, 1)],
)
def test_auto_epochs_follows_vendor_heuristic(n, epochs):
    assert auto_epochs(n) == epochs


def test_auto_epochs_needs_example_count():
    with pytest.raises(ValueError, match="n_examples"):
        estimate_training_cost(1000, "gpt-4o-mini", "auto")
    assert estimate_training_cost(1000, "gpt-4o-mini", "auto", n_examples=10) == pytest.approx(3.0 / 1e6 * 1000 * 10)


def test_check_budget_returns_estimate_within_budget(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", EXAMPLES * 5)
    tokens = count_tokens_in_jsonl(path, "gpt-4o-mini").total_tokens
    estimate = check_budget(path, "gpt-4o-mini", 1.0, n_epochs="auto")
    assert isinstance(estimate, CostEstimate)
    assert estimate.n_epochs == auto_epochs(20) == 5
    assert estimate.tokens_per_epoch == tokens
    assert estimate.billed_tokens == tokens * 5
    assert estimate.estimated_usd == pytest.approx(3.0 / 1e6 * tokens * 5)
    assert estimate.within_budget
    assert json.loads(json.dumps(estimate.to_dict()))["billed_tokens"] == tokens * 5


def test_budget_exceeded_carries_estimate_budget_tokens_and_exit_code(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", EXAMPLES * 5)
    with pytest.raises(BudgetExceededError) as info:
        check_budget(path, "gpt-4.1-2025-04-14", 0.0001, n_epochs=3)
    error = info.value
    assert isinstance(error, VectorTrainerError)
    assert exit_code_for_error(error) == 3
    assert error.budget == 0.0001
    assert error.tokens == error.cost.tokens_per_epoch * 3
    assert error.estimate == pytest.approx(25.0 / 1e6 * error.tokens)
    assert "$0.00" in str(error) and "budget" in str(error)


def test_budget_none_disables_the_guard(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", EXAMPLES * 50)
    estimate = check_budget(path, "gpt-4.1-2025-04-14", None, n_epochs=25)
    assert estimate.budget_usd is None and estimate.within_budget and estimate.estimated_usd > 0


def test_validation_tokens_are_counted_but_free(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", EXAMPLES * 3)
    valid = write_jsonl(tmp_path / "valid.jsonl", EXAMPLES)
    with_valid = check_budget(train, "gpt-4o-mini", None, 3, validation_path=valid)
    without = check_budget(train, "gpt-4o-mini", None, 3)
    assert with_valid.validation_examples == len(EXAMPLES) and with_valid.validation_tokens > 0
    assert with_valid.estimated_usd == without.estimated_usd


def test_examples_over_the_limit_are_reported_and_billed_at_the_limit(monkeypatch, tmp_path):
    short = tuple(replace(m, max_tokens_per_example=50) if m.name == "gpt-4o-mini-2024-07-18" else m
                  for m in OPENAI.models)
    monkeypatch.setitem(PROVIDERS, "openai", replace(OPENAI, models=short))
    path = write_jsonl(tmp_path / "train.jsonl", [chat("short", "ok"), chat("word " * 200, "ok"), chat("hi", "ok")])
    counted = count_tokens_in_jsonl(path, "gpt-4o-mini")
    assert counted.too_long == [2]
    assert counted.max_example_tokens > 50
    assert counted.billed_tokens_per_epoch == counted.total_tokens - counted.max_example_tokens + 50
    assert check_budget(path, "gpt-4o-mini", None, 1).too_long == [2]


def test_preference_examples_are_counted(tmp_path):
    example = {
        "input": {"messages": [{"role": "user", "content": "hello world"}]},
        "preferred_output": [{"role": "assistant", "content": "hi"}],
        "non_preferred_output": [{"role": "assistant", "content": "go away"}],
    }
    path = write_jsonl(tmp_path / "pref.jsonl", [example])
    assert count_tokens_in_jsonl(path, "gpt-4o-mini").total_tokens == 3 + (3 + 1 + 2) + (3 + 1 + 1) + (3 + 1 + 2)


def test_bad_lines_name_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(EXAMPLES[0]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"bad.jsonl:2: not valid JSON"):
        count_tokens_in_jsonl(path, "gpt-4o-mini")
    path.write_text(json.dumps({"prompt": "x"}) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"bad.jsonl:1: no 'messages' list"):
        count_tokens_in_jsonl(path, "gpt-4o-mini")
    path.write_bytes(json.dumps(EXAMPLES[0]).encode() + b"\n\xff\xfe broken\n")
    with pytest.raises(DataFormatError, match=r"bad.jsonl:2: not UTF-8"):
        count_tokens_in_jsonl(path, "gpt-4o-mini")
    with pytest.raises(DataFormatError, match="not found"):
        count_tokens_in_jsonl(tmp_path / "missing.jsonl", "gpt-4o-mini")


def test_bad_epochs_is_a_config_error(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", EXAMPLES)
    with pytest.raises(ConfigError, match="n_epochs"):
        check_budget(path, "gpt-4o-mini", None, 0)


@pytest.mark.parametrize(("amount", "text"), [(0, "$0.00"), (0.0001, "$0.0001"), (0.0302, "$0.03"), (1234.5, "$1,234.50")])
def test_small_amounts_never_read_as_zero_dollars(amount, text):
    from vectortrainer.display import format_usd

    assert format_usd(amount) == text
