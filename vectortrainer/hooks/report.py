"""The one ``rules.json``: the rules learned, their conflicts and rejections, and the hook written
from them.

Every face writes this document the same way: beside each hook version it saves (and,
for the active version, as ``rules.json`` in the function's hook folder), on stdout with
``rules synthesize --json``, and in a run's directory (where ``hook`` and ``replay`` are
null).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import cast

from vectortrainer.files import atomic_write_text
from vectortrainer.hooks.generator import GenerationReport
from vectortrainer.json_types import JSONObject
from vectortrainer.redaction import redact_secrets, to_json
from vectortrainer.registry.layout import RULES_FILENAME
from vectortrainer.rules.synthesis import RuleSet

RULES_REPORT_FORMAT = 1
RULES_REPORT_FILE = RULES_FILENAME


def rules_report(
    rule_set: RuleSet,
    *,
    feedback_path: str | os.PathLike[str] | None,
    generation: GenerationReport | None = None,
) -> JSONObject:
    """The document: rules, conflicts, rejections, notes; the hook's path, version and replay when
    one was written."""
    hook = generation.path if generation is not None else None
    # to_dict() is plain JSON already: redacted as it is, not copied through JSON text first
    # (70,000 rejections at 10,000 real pairs made that round trip seconds and 300 MB)
    learned = cast(JSONObject, redact_secrets(rule_set.to_dict()))
    return {
        "format": RULES_REPORT_FORMAT,
        "feedback_path": str(feedback_path) if feedback_path is not None else None,
        "feedback_pairs": len(rule_set.pairs),
        **learned,
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
