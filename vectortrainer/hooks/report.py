"""The one ``rules.json``: the rules learned, their conflicts and rejections, and the hook written
from them.

Every face writes this document the same way: the CLI beside the hook it wrote
(and on stdout with ``--json``), the TUI when it makes a hook, the pipeline in the
run directory (where no hook is written, so ``hook`` and ``replay`` are null).
"""

from __future__ import annotations

import os
from pathlib import Path

from vectortrainer.files import atomic_write_text
from vectortrainer.hooks.generator import GenerationReport, HookScriptGenerator
from vectortrainer.hooks.template import HOOK_FILENAME
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.json_types import JSONObject
from vectortrainer.redaction import to_json, to_plain
from vectortrainer.rules.synthesis import RuleSet

RULES_REPORT_FORMAT = 1
RULES_REPORT_FILE = "rules.json"


def rules_report(
    rule_set: RuleSet,
    *,
    feedback_path: str | os.PathLike[str] | None,
    generation: GenerationReport | None = None,
) -> JSONObject:
    """The document: rules, conflicts, rejections, notes; the hook's path, version and replay when
    one was written."""
    hook = generation.path if generation is not None else None
    return {
        "format": RULES_REPORT_FORMAT,
        "feedback_path": str(feedback_path) if feedback_path is not None else None,
        "feedback_pairs": len(rule_set.pairs),
        **to_plain(rule_set.to_dict()),
        "hook": str(hook) if hook is not None else None,
        "version": generation.version_id if generation is not None else None,
        "skipped_rules": [
            {"rule": s.rule.to_dict(), "reason": s.reason} for s in generation.skipped
        ]
        if generation is not None
        else [],
        "replay": generation.replay.to_dict()
        if generation is not None and generation.replay
        else None,
    }


def write_rules_report(path: str | os.PathLike[str], report: JSONObject) -> Path:
    """Write ``report`` atomically as indented JSON; returns the path."""
    target = Path(path)
    atomic_write_text(target, to_json(report, indent=2) + "\n")
    return target


def publish_hook(
    rule_set: RuleSet,
    hooks_dir: str | os.PathLike[str],
    *,
    feedback_path: str | os.PathLike[str] | None,
    note: str = "",
    enable_versioning: bool = True,
) -> tuple[GenerationReport, JSONObject]:
    """Validate, replay and write the hook (a new active version), and ``rules.json`` beside it.

    Every artefact is written before the new version becomes active: the version is saved
    inactive, ``rules.json`` is written, and only then is the version activated. A failure
    on the way leaves the hook that was active as it was.
    The CLI and the TUI both make hooks this way; returns the generation report and the document.
    """
    generator = HookScriptGenerator()
    hooks = Path(hooks_dir)
    if not enable_versioning:
        prepared = generator.prepare(rule_set)
        generation = prepared.written(hooks / HOOK_FILENAME)
        document = rules_report(rule_set, feedback_path=feedback_path, generation=generation)
        write_rules_report(hooks / RULES_REPORT_FILE, document)
        atomic_write_text(generation.path, prepared.source)
        return generation, document
    generation = generator.generate(rule_set, hooks, enable_versioning=True, note=note,
                                    activate=False)
    assert generation.version_id is not None  # set whenever versioning is on
    document = rules_report(rule_set, feedback_path=feedback_path, generation=generation)
    write_rules_report(hooks / RULES_REPORT_FILE, document)
    HookVersionManager(hooks).activate(generation.version_id)  # checksum and code verified first
    return generation, document
