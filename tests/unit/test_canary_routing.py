"""A canary in the user's process (issue 26): `promoted_model` routes each call by a hash of its inputs,
deterministically, to the configured share, the same way the loop recomputes it; a bad canary block or an
input that cannot be written never breaks the function. The check against a real VectorWave store is in
tests/integration/test_canary.py."""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import subprocess
import sys
import textwrap

import pytest

from tests.support import REPO_ROOT
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.registry.routing import (
    CANDIDATE,
    CALL_PROPERTIES,
    INCUMBENT,
    MASKED,
    UNSERIALISABLE,
    arm_of,
    canonical_inputs,
    logged_form,
    route_fraction,
)
from vectortrainer.runtime import promoted_model
from vectortrainer.store.source import VECTORWAVE_PROPERTIES

FUNCTION = "summarize_ticket"
INCUMBENT_MODEL, CANDIDATE_MODEL = "ft:incumbent", "ft:candidate"


@pytest.fixture
def canary(tmp_path):
    """A registry of FUNCTION: m001 promoted, m002 in canary at 30%."""
    registry = ModelRegistry(tmp_path / "models", FUNCTION)
    registry.register(provider="openai", model=INCUMBENT_MODEL, gate={"passed": True, "reason": "r"}, promote=True)
    registry.register(provider="openai", model=CANDIDATE_MODEL, gate={"passed": True, "reason": "r"})
    registry.start_canary("m002", 0.3)
    return registry


def _served(models_dir):
    def summarize_ticket(ticket: str, tier: str = "pro", *extra, **options) -> str:
        return promoted_model(FUNCTION, models_dir=models_dir, default="base", reload_interval=0)

    return summarize_ticket


def test_the_arm_is_a_fixed_function_of_the_inputs_and_the_canary():
    inputs = {"ticket": "Where is order 4242?", "tier": "pro"}
    assert route_fraction("m002", inputs) == route_fraction("m002", dict(reversed(inputs.items())))
    # fixed for good: a process on another machine, or next year, routes the same call the same way
    canonical = b'{"ticket":"Where is order 4242?","tier":"pro"}'
    assert canonical_inputs(inputs) == canonical
    digest = hashlib.sha256(b"vectortrainer-canary/1\0m002\0" + canonical).digest()
    assert route_fraction("m002", inputs) == int.from_bytes(digest[:8], "big") / 2**64 == 0.8810774630374987
    assert route_fraction("m003", inputs) != route_fraction("m002", inputs)  # each canary its own draw


@pytest.mark.parametrize("share", [0.05, 0.3, 0.5, 0.9])
def test_the_candidate_gets_its_share_of_inputs(share):
    n = 20_000
    chosen = sum(arm_of("m002", share, {"ticket": f"ticket {i}", "tier": "pro"}) == CANDIDATE for i in range(n))
    sigma = (share * (1 - share) / n) ** 0.5
    assert abs(chosen / n - share) < 4 * sigma


def test_two_canaries_draw_different_inputs():
    inputs = [{"ticket": f"ticket {i}"} for i in range(4000)]
    first = {i for i, x in enumerate(inputs) if arm_of("m002", 0.5, x) == CANDIDATE}
    second = {i for i, x in enumerate(inputs) if arm_of("m003", 0.5, x) == CANDIDATE}
    assert 0.4 < len(first & second) / len(first) < 0.6  # independent draws overlap by about half


def test_values_take_the_form_vectorwave_logs():
    sensitive = frozenset({"password", "api_key"})
    assert logged_form(("a", 1)) == "('a', 1)"
    assert logged_form({"Password": "x", "nested": [{"API_KEY": 1, 2: (3,)}]}, sensitive) == \
        {"Password": MASKED, "nested": [{"API_KEY": MASKED, "2": "(3,)"}]}
    assert logged_form(datetime.date(2026, 12, 1)) == "2026-12-01"
    assert logged_form({True: 1, None: 2, 1.5: 3}) == {"true": 1, "null": 2, "1.5": 3}

    class Unprintable:
        def __str__(self) -> str:
            raise ValueError("no")

    assert logged_form(Unprintable()) == UNSERIALISABLE
    logged = logged_form({"a": [1, "x", {"b": (1, 2)}]}, sensitive)
    assert logged_form(json.loads(json.dumps(logged)), sensitive) == logged  # read back: the same form
    # an argument named like a sensitive key is masked whole; VectorWave's own names are no inputs
    assert canonical_inputs({"password": "hunter2", "status": "x", "q": 1}, sensitive) == b'{"password":"[MASKED]","q":1}'


def test_the_runtime_reads_no_input_vectorwave_would_not_read_back():
    assert CALL_PROPERTIES == VECTORWAVE_PROPERTIES


def test_promoted_model_routes_each_call_by_its_arguments(canary):
    served = _served(canary.models_dir)
    for i in range(400):
        ticket = f"Order {i} has not arrived."
        expected = arm_of("m002", 0.3, {"ticket": ticket, "tier": "pro"})  # defaults count; *extra, **options do not
        model = served(ticket, "pro", "ignored", flag=True) if i % 2 else served(ticket)
        assert model == (CANDIDATE_MODEL if expected == CANDIDATE else INCUMBENT_MODEL)
        assert served(ticket) == model  # the same inputs, the same model, every time


def test_route_by_names_the_inputs_when_the_model_is_asked_for_elsewhere(canary):
    def helper() -> str:  # no arguments of its own: route_by carries the function's
        return promoted_model(FUNCTION, models_dir=canary.models_dir, default="base", reload_interval=0,
                              route_by={"ticket": ticket, "tier": "pro"})

    for i in range(100):
        ticket = f"Refund {i}"
        assert helper() == _served(canary.models_dir)(ticket)


def test_methods_route_without_self(canary):
    class Service:
        def summarize_ticket(self, ticket: str, tier: str = "pro") -> str:
            return promoted_model(FUNCTION, models_dir=canary.models_dir, default="base", reload_interval=0)

    for i in range(50):
        assert Service().summarize_ticket(f"t{i}") == _served(canary.models_dir)(f"t{i}")


def test_inputs_that_cannot_be_written_never_break_the_call(canary):
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    def summarize_ticket(ticket: object) -> str:
        return promoted_model(FUNCTION, models_dir=canary.models_dir, default="base", reload_interval=0)

    assert summarize_ticket(Unprintable()) in (INCUMBENT_MODEL, CANDIDATE_MODEL)
    assert summarize_ticket({"deep": [[[[{"x": object()}]]]]}) in (INCUMBENT_MODEL, CANDIDATE_MODEL)


def test_the_incumbent_serves_every_call_once_the_canary_is_stopped(canary):
    served = _served(canary.models_dir)
    tickets = [f"Order {i}" for i in range(200)]
    assert {served(t) for t in tickets} == {INCUMBENT_MODEL, CANDIDATE_MODEL}
    canary.stop_canary(reason="test")
    assert {served(t) for t in tickets} == {INCUMBENT_MODEL}


@pytest.mark.parametrize("block", [
    "not an object", {"version_id": "m002", "model": "ft:x", "share": 7, "started_at": "2026-12-01"},
    {"version_id": "m002", "model": "line\nbreak", "share": 0.5, "started_at": "2026-12-01"},
    {"model": "ft:x", "share": 0.5, "started_at": "2026-12-01"},
])
def test_a_bad_canary_block_is_logged_once_and_the_incumbent_serves(tmp_path, caplog, block):
    registry = ModelRegistry(tmp_path / "models", FUNCTION)
    registry.register(provider="openai", model=INCUMBENT_MODEL, gate={"passed": True, "reason": "r"}, promote=True)
    entry = json.loads(registry.promoted_path.read_text())
    registry.promoted_path.write_text(json.dumps({**entry, "canary": block}))
    served = _served(registry.models_dir)
    with caplog.at_level(logging.ERROR, logger="vectortrainer.runtime"):
        assert {served(f"t{i}") for i in range(100)} == {INCUMBENT_MODEL}
    assert len([r for r in caplog.records if "canary block is ignored" in r.getMessage()]) == 1


def test_promoted_json_with_a_canary_still_names_the_incumbent_to_older_readers(canary):
    entry = json.loads(canary.promoted_path.read_text())
    assert entry["model"] == INCUMBENT_MODEL  # what the runtime before canaries reads
    assert entry["canary"]["model"] == CANDIDATE_MODEL and entry["canary"]["share"] == 0.3
    assert canary.promoted().version_id == "m001" and canary.verify().ok


def test_routing_imports_nothing_beyond_the_standard_library():
    code = textwrap.dedent("""
        import sys
        from vectortrainer.runtime import promoted_model
        import vectortrainer.registry.routing
        print(",".join(m for m in ("numpy", "scipy", "vectorwave", "yaml", "filelock") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert out.stdout.strip() == ""
