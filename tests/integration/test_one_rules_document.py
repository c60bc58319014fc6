"""Rule synthesis is one use case: the CLI, the TUI's workspace and the pipeline learn the same rules from the
same feedback into the same rules document; the CLI and the app make it live through the same hook gate, into
the function's own folder."""

from __future__ import annotations

import json

from tests.support.pipelines import placeholder_key
from tests.support.tui_fixtures import greetings_by_tier, write_chatml
from tui.workspace import Workspace
from vectortrainer.cli import main
from vectortrainer.config import Config
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import write_feedback_file
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.pipeline import TrainingPipeline
from vectortrainer.runs.directory import RunDirectory

LEARNED = ("rules", "conflicts", "rejected", "notes", "rewrites", "overrides", "feedback_pairs")


def _feedback(tmp_path):
    pairs = [*greetings_by_tier(), FeedbackPair("Order 12 ships", "Order #12 ships"),
             FeedbackPair("Order 7 ships", "Order #7 ships"), FeedbackPair("Order 31 ships", "Order #31 ships"),
             # enough for the gate's learning half to back the rule with no logs (three pairs)
             FeedbackPair("Order 58 ships", "Order #58 ships"), FeedbackPair("Order 260 ships", "Order #260 ships")]
    path = tmp_path / "feedback.jsonl"
    write_feedback_file(path, pairs)
    return path


def _config(tmp_path, feedback, *, semantic: bool = False) -> Config:
    return Config().with_overrides(**{
        "feedback.path": feedback, "feedback.semantic_screen": semantic, "hooks.dir": tmp_path / "tui-hooks",
        "output_dir": tmp_path / "out", "selection.function": "greet"})


def test_cli_tui_and_pipeline_learn_the_same_rules_document(tmp_path, capsys):
    feedback = _feedback(tmp_path)
    config = _config(tmp_path, feedback)
    cli = ["rules", "synthesize", "--feedback", str(feedback), "--hooks-dir", str(tmp_path / "cli-hooks"),
           "--no-semantic", "--function", "greet", "--json"]

    assert main(cli) == 0
    from_cli = json.loads(capsys.readouterr().out)
    assert not (tmp_path / "cli-hooks").exists()  # it only looked

    workspace = Workspace(config)
    from_tui = workspace.rules.document(workspace.rules.synthesize(function="greet").rule_set)

    with placeholder_key():  # the run stops at the cost confirmation, before any request
        outcome = TrainingPipeline(config, confirm=lambda estimate: False).run(
            golden_path=write_chatml(tmp_path / "golden.jsonl", 12))
    from_pipeline = json.loads(RunDirectory.open(config.output_dir, outcome.run_id).rules_path.read_text())

    assert set(from_tui) == set(from_pipeline) and set(from_tui) < set(from_cli)  # one schema
    for key in LEARNED:
        assert from_cli[key] == from_tui[key] == from_pipeline[key], key
    assert from_cli["rules"] and from_cli["conflicts"]  # there was something to agree on


def test_cli_and_app_make_a_hook_live_through_the_same_gate(tmp_path, capsys):
    feedback = _feedback(tmp_path)
    config = _config(tmp_path, feedback)
    assert main(["rules", "synthesize", "--feedback", str(feedback), "--hooks-dir", str(tmp_path / "cli-hooks"),
                 "--no-semantic", "--function", "greet", "--activate", "--json"]) == 0
    from_cli = json.loads(capsys.readouterr().out)
    from_app = Workspace(config).rules.publish("greet", note="from the app")

    assert from_cli["gate"] == from_app.decision.to_dict() and from_app.decision.passed
    assert from_cli["version"] == from_app.version_id == from_cli["live_now"] == "v001"
    assert from_cli["live_before"] is None
    cli_document = json.loads((tmp_path / "cli-hooks" / "greet" / "rules.json").read_text())
    app_document = json.loads((tmp_path / "tui-hooks" / "greet" / "rules.json").read_text())
    for key in LEARNED:
        assert cli_document[key] == app_document[key], key
    assert cli_document["version"] == "v001" and cli_document["hook"].endswith("generated_prompt_hook.py")

    # A run with the same feedback learns the same hook: judged again, never saved twice.
    with placeholder_key():
        outcome = TrainingPipeline(config, confirm=lambda estimate: False).run(
            golden_path=write_chatml(tmp_path / "golden.jsonl", 12))
    hook = RunDirectory.open(config.output_dir, outcome.run_id).state.stage("hook").detail
    assert hook["version_id"] is None and hook["live_now"] == hook["live_before"] == "v001"
    assert len(HookVersionManager.for_function(tmp_path / "tui-hooks", "greet").list_versions()) == 1


def test_every_face_screens_rewrites_when_the_config_says_so(tmp_path):
    """The CLI alone used the MiniLM rewrite screen; now the config decides for every face."""
    config = _config(tmp_path, _feedback(tmp_path), semantic=True)
    rule_set = Workspace(config).rules.synthesize().rule_set
    assert rule_set.scorer is not None
    assert rule_set.resolve(rule_set.conflicts[0].conflict_id, 0).scorer is rule_set.scorer  # kept on re-synthesis
    config = config.with_overrides(**{"feedback.semantic_screen": False})
    assert Workspace(config).rules.synthesize().rule_set.scorer is None
