"""Deterministic fixture data for the TUI tests: a small in-memory log source and a config in tmp_path.

The source answers the calls of the ``vectortrainer.store.source.LogReader`` protocol
(``list_functions``, ``function_info``, ``read_function``) with fixed records and seeded vectors, so
screens can be snapshotted without importing VectorWave (seconds, 1.3 GB).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vectortrainer.config import Config
from vectortrainer.feedback.from_logs import LoggedOutput
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.hooks.generator import HookScriptGenerator
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.rules.synthesis import RuleSet, synthesize_rules
from vectortrainer.store.records import FunctionLogs, FunctionSummary, LogRecord
from vectortrainer.store.source import FunctionInfo, ProgressCallback

TOPICS = ("refund policy", "shipping time", "password reset")


def _records(name: str, n: int) -> tuple[list[LogRecord], np.ndarray]:
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(len(TOPICS), 16))
    records, vectors = [], []
    for i in range(n):
        topic = i % len(TOPICS) if i < n - 3 else None
        status = "ERROR" if i % 11 == 10 else "SUCCESS"
        if topic is None:
            vector = rng.normal(size=16)  # a few far-away new patterns
            question = f"unusual request #{i}"
        else:
            vector = centres[topic] + rng.normal(scale=0.15, size=16)
            question = f"customer asks about {TOPICS[topic]} (case {i})"
        vectors.append(vector / np.linalg.norm(vector))
        records.append(
            LogRecord(
                uuid=f"{name}-{i:03d}",
                function_name=name,
                status=status,
                inputs={"question": question},
                output=None if status == "ERROR" else f"Answer about {question}.",
                timestamp=f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
            )
        )
    return records, np.asarray(vectors, dtype=np.float32)


class FixtureLogSource:
    """Two functions with fixed logs: a ``LogReader`` (the protocol ``LogSource`` implements)."""

    def __init__(self) -> None:
        self.functions = {"answer_support_ticket": 36, "summarise_invoice": 12}

    def list_functions(self) -> list[FunctionSummary]:
        summaries = []
        for name, n in self.functions.items():
            records, _ = _records(name, n)
            failed = sum(1 for r in records if not r.succeeded)
            summaries.append(FunctionSummary(name=name, total=n + 2, success=n - failed, with_vector=n,
                                             with_inputs=n, failed=failed, anomaly=0))
        return summaries

    def function_info(self, name: str) -> FunctionInfo:
        return FunctionInfo(name=name, docstring="Answer a customer ticket.", parameters=("question",))

    def read_function(self, name: str, progress: ProgressCallback | None = None) -> FunctionLogs:
        records, vectors = _records(name, self.functions[name])
        if progress is not None:
            progress(len(records), len(records))
        return FunctionLogs(function_name=name, records=records, vectors=vectors,
                            skipped={"no vector": 2}, total=len(records) + 2)


def fixture_config(tmp_path: Path, monkeypatch) -> Config:
    """A config whose paths are relative to ``tmp_path``, made the working directory.

    Relative paths keep snapshots free of the random tmp directory name.
    """
    monkeypatch.chdir(tmp_path)
    return Config().with_overrides(**{
        "store.path": Path("store"),
        "hooks.dir": Path("hooks"),
        "models.dir": Path("models"),
        "feedback.path": Path("feedback.jsonl"),
        "output_dir": Path("output"),
        "selection.top_k": 6,
        "selection.epsilon": 0.3,
        "budget.max_budget_usd": 5.0,
    })


def write_chatml(path: Path, n_examples: int, words: int = 40) -> Path:
    """A valid ChatML JSONL file of ``n_examples`` fixed examples."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n_examples):
            example = {"messages": [
                {"role": "system", "content": "You answer support tickets."},
                {"role": "user", "content": f"Ticket {i}: " + "where is my parcel " * (words // 4)},
                {"role": "assistant", "content": "It ships within two days. " * (words // 5)},
            ]}
            handle.write(json.dumps(example) + "\n")
    return path


def greetings_by_tier() -> list[FeedbackPair]:
    """Free-tier fixes say "Hello", VIP fixes say "Hey": one conflict whose rules each have a context."""
    free = [FeedbackPair(f"Hi {n}, ok", f"Hello {n}, ok", "", {"tier": "free"}) for n in ("Ann", "Bo", "Cy")]
    vip = [FeedbackPair(f"Hi {n}, ok", f"Hey {n}, ok", "", {"tier": "vip"}) for n in ("Dee", "Eve")]
    return free + vip


def two_models(config, function: str) -> None:
    """A promoted model that passed the gate, and a newer one the gate refused."""
    from vectortrainer.registry.models import ModelRegistry

    registry = ModelRegistry(config.models.dir, function)
    registry.register(provider="openai", model="ft:gpt-4o-mini-2024-07-18:acme:vt:aaa111", run_id="run-1",
                      evaluation={"candidate": {"overall": 0.912}, "incumbent": {"overall": 0.41}},
                      gate={"passed": True, "reason": "score 0.912 beats the base model (0.410) by +0.502"},
                      promote=True)
    registry.register(provider="openai", model="ft:gpt-4o-mini-2024-07-18:acme:vt:bbb222", run_id="run-2",
                      evaluation={"candidate": {"overall": 0.35}, "incumbent": {"overall": 0.912}},
                      gate={"passed": False, "reason": "slice steady regressed: 0.930 -> 0.310"}, promote=False)


def two_hook_versions(config, function: str = "answer_support_ticket") -> HookVersionManager:
    """Two saved hook versions of ``function`` (order numbers, then a greeting fix); the second is
    active."""
    folder = HookVersionManager.for_function(config.hooks.dir, function).output_dir
    generator = HookScriptGenerator(check_in_subprocess=False)
    generator.generate(_learned([FeedbackPair("Order 12 ok", "Order #12 ok"),
                                 FeedbackPair("Order 7 ok", "Order #7 ok")]), folder)
    generator.generate(_learned([FeedbackPair("hello there", "Hello there.")]), folder)
    return HookVersionManager(folder)


def _learned(pairs: list[FeedbackPair]) -> RuleSet:
    """Rules as learned next to a store whose logs repeat each pair's words (so a correction seen
    once is a rule too, as in the app)."""
    return synthesize_rules(pairs, logs=[LoggedOutput(pair.bad_output, {}) for pair in pairs])


def many_hook_versions(config, function: str = "answer_support_ticket",
                       count: int = 6) -> HookVersionManager:
    """``count`` saved hook versions of ``function``, each fixing another order number; the last is
    active."""
    folder = HookVersionManager.for_function(config.hooks.dir, function).output_dir
    generator = HookScriptGenerator(check_in_subprocess=False)
    for n in range(count):
        fix = FeedbackPair(f"Order {n}{n} ok", f"Order #{n}{n} ok")
        generator.generate(_learned([fix]), folder)
    return HookVersionManager(folder)
