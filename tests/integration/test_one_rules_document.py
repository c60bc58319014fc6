"""Rule synthesis is one use case: the CLI, the TUI's workspace and the pipeline learn the same rules from the
same feedback and write the same rules.json (only the CLI and the TUI write a hook beside it)."""

from __future__ import annotations

import json

from tests.support.tui_fixtures import greetings_by_tier, write_chatml
from tui.workspace import Workspace
from vectortrainer.cli import main
from vectortrainer.config import Config
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import write_feedback_file
from vectortrainer.pipeline import TrainingPipeline
from vectortrainer.runs.directory import RunDirectory

LEARNED = ("rules", "conflicts", "rejected", "notes", "rewrites", "overrides", "feedback_pairs")


def _feedback(tmp_path):
    pairs = [*greetings_by_tier(), FeedbackPair("Order 12 ships", "Order #12 ships"),
             FeedbackPair("Order 7 ships", "Order #7 ships"), FeedbackPair("Order 31 ships", "Order #31 ships")]
    path = tmp_path / "feedback.jsonl"
    write_feedback_file(path, pairs)
    return path


def _config(tmp_path, feedback, *, semantic: bool = False) -> Config:
    config = Config()
    config.feedback.path = feedback
    config.feedback.semantic_screen = semantic
    config.hooks.dir = tmp_path / "tui-hooks"
    config.output_dir = tmp_path / "out"
    config.selection.function = "greet"
    return config


def test_cli_tui_and_pipeline_write_the_same_rules_document(tmp_path, capsys):
    feedback = _feedback(tmp_path)
    config = _config(tmp_path, feedback)

    assert main(["rules", "synthesize", "--feedback", str(feedback), "--hooks-dir", str(tmp_path / "cli-hooks"),
                 "--no-semantic", "--json"]) == 0
    from_cli = json.loads(capsys.readouterr().out)
    assert json.loads((tmp_path / "cli-hooks" / "rules.json").read_text()) == from_cli

    workspace = Workspace(config)
    workspace.rules.publish(workspace.rules.synthesize().rule_set, note="from the app")
    from_tui = json.loads((tmp_path / "tui-hooks" / "rules.json").read_text())

    outcome = TrainingPipeline(config, confirm=lambda estimate: False).run(
        golden_path=write_chatml(tmp_path / "golden.jsonl", 12))
    from_pipeline = json.loads(RunDirectory.open(config.output_dir, outcome.run_id).rules_path.read_text())

    assert set(from_cli) == set(from_tui) == set(from_pipeline)  # one schema
    for key in LEARNED:
        assert from_cli[key] == from_tui[key] == from_pipeline[key], key
    assert from_cli["rules"] and from_cli["conflicts"]  # there was something to agree on
    assert from_cli["version"] == from_tui["version"] == "v001" and from_pipeline["version"] is None
    assert from_tui["replay"]["good_changed"] == [] and from_pipeline["replay"] is None
    assert from_pipeline["hook"] is None and from_tui["hook"].endswith("generated_prompt_hook.py")


def test_every_face_screens_rewrites_when_the_config_says_so(tmp_path):
    """The CLI alone used the MiniLM rewrite screen; now the config decides for every face."""
    config = _config(tmp_path, _feedback(tmp_path), semantic=True)
    rule_set = Workspace(config).rules.synthesize().rule_set
    assert rule_set.scorer is not None
    assert rule_set.resolve(rule_set.conflicts[0].conflict_id, 0).scorer is rule_set.scorer  # kept on re-synthesis
    config.feedback.semantic_screen = False
    assert Workspace(config).rules.synthesize().rule_set.scorer is None
