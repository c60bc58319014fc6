"""`vectortrainer models promote|rollback`: a model whose base model is past its shutdown is refused in
one line, and the promoted model stays (issue 26, part 4)."""

from __future__ import annotations

from vectortrainer.cli import main
from vectortrainer.registry.models import ModelRegistry

FUNCTION = "summarize_ticket"
NANO = "gpt-4.1-nano-2025-04-14"  # shut down on 2026-10-23; the suite runs on 2026-12-01


def test_promoting_or_rolling_back_to_a_model_on_a_shut_down_base_is_refused(tmp_path, capsys):
    registry = ModelRegistry(tmp_path / "models", FUNCTION)
    registry.register(provider="openai", model=f"ft:{NANO}:acme::a", base_model=NANO,
                      gate={"passed": True, "reason": "r"})
    registry.register(provider="local", model="/adapters/b", base_model="HuggingFaceTB/SmolLM2-135M-Instruct",
                      gate={"passed": True, "reason": "r"}, promote=True)
    where = ["--function", FUNCTION, "--models-dir", str(tmp_path / "models")]

    for command in (["models", "promote", "m001"], ["models", "rollback", "m001"]):
        assert main([*command, *where]) != 0
        err = capsys.readouterr().err
        assert "m001" in err and f"its base model {NANO} shut down on 2026-10-23" in err
        assert "vectortrainer providers" in err
    assert registry.promoted().version_id == "m002"
    assert main(["models", "promote", "m002", *where]) == 0
