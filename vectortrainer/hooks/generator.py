"""Rules -> `generated_prompt_hook.py`: validated before it is written, versioned when asked
(FR-2.5, FR-7.4, VT-6).

The hook is fixed, reviewed code (`rules/interpreter.py`, copied verbatim) plus one
ASCII string literal holding the rules as JSON. No user text ever becomes code:
the literal is written with `ascii()`, and validation checks that the module is
exactly the template with one string constant in the data slot.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.files import atomic_write_text
from vectortrainer.hooks.template import HOOK_FILENAME, render_hook
from vectortrainer.hooks.validation import replay_in_subprocess, validate_hook_source
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.rules import interpreter
from vectortrainer.rules.model import RULE_KINDS, RULE_TARGETS, Rule, rules_document
from vectortrainer.rules.replay import ReplayReport
from vectortrainer.rules.safety import check_rule_safety, rule_regexes
from vectortrainer.rules.synthesis import RuleSet


@dataclass(frozen=True)
class SkippedRule:
    """A rule left out of the hook, and why (unknown kind, unsafe regex, refused by the
    interpreter)."""

    rule: Rule
    reason: str


@dataclass(frozen=True)
class PreparedHook:
    """A hook's source that passed validation, what went into it and how it replayed; nothing
    written yet."""

    source: str
    rules_written: int
    skipped: list[SkippedRule]
    replay: ReplayReport | None  # None when the generator does not replay in a subprocess

    def written(self, path: Path, version_id: str | None = None) -> GenerationReport:
        """The report of this hook once it is written at ``path`` (as version ``version_id``)."""
        return GenerationReport(path, version_id, self.rules_written, self.skipped, self.replay)


@dataclass(frozen=True)
class GenerationReport:
    """What `generate` wrote (the hook's path, its version when one was saved) and how the hook did
    on the replayed pairs."""

    path: Path
    version_id: str | None = None
    rules_written: int = 0
    skipped: list[SkippedRule] = field(default_factory=list)
    replay: ReplayReport | None = None


def usable_rules(rules: Sequence[Rule]) -> tuple[list[Rule], list[SkippedRule]]:
    """Rules the hook can run safely, and the others with the reason they are left out."""
    kept: list[Rule] = []
    skipped: list[SkippedRule] = []
    for rule in rules:
        reason = ""
        if rule.kind not in RULE_KINDS:
            reason = f"unknown kind {rule.kind!r}"
        elif rule.target not in RULE_TARGETS:
            reason = f"unknown target {rule.target!r}"
        else:
            try:
                for pattern in rule_regexes(rule.to_dict()):
                    re.compile(pattern)
                check_rule_safety(rule.to_dict())
            except re.error as exc:
                reason = f"invalid regex: {exc}"
            except ValueError as exc:
                reason = f"unsafe regex: {exc}"
        # what the hook's own interpreter would refuse (a case transform of a missing group, ...)
        if not reason:
            _, refused = interpreter.load_rules(rules_document([rule]))
            reason = f"invalid rule: {refused[0]['reason']}" if refused else ""
        if reason:
            skipped.append(SkippedRule(rule, reason))
        else:
            kept.append(rule)
    return kept, skipped


class HookScriptGenerator:
    """Writes `generated_prompt_hook.py` from rules, only after it passed every check.

    It keeps only its settings: every call returns what it did, so one generator can be shared.
    """

    def __init__(self, *, check_in_subprocess: bool = True, timeout_s: float = 30.0) -> None:
        self.check_in_subprocess = check_in_subprocess
        self.timeout_s = timeout_s

    def render(self, rules: RuleSet | Sequence[Rule]) -> tuple[str, list[Rule], list[SkippedRule]]:
        """(source, rules embedded, rules left out) for a `RuleSet` or a sequence of `Rule`."""
        rule_list = list(rules.rules if isinstance(rules, RuleSet) else rules)
        kept, skipped = usable_rules(rule_list)
        return render_hook(rules_document(kept)), kept, skipped

    def generate(
        self,
        rules: RuleSet | Sequence[Rule],
        output_dir: str | os.PathLike[str],
        enable_versioning: bool = True,
        *,
        pairs: Sequence[FeedbackPair] | None = None,
        note: str = "",
        activate: bool = True,
    ) -> GenerationReport:
        """Validate and write the hook into ``output_dir``; returns what was written (FR-2.5,
        FR-7.4): the hook's path, its version id (None without versioning), the rules written and
        skipped, and the replay.

        The replay uses ``pairs`` or, for a `RuleSet`, the pairs it was synthesised from.
        With ``enable_versioning`` the script is also saved as a new version, marked active
        unless ``activate`` is off (then it is saved only, to be activated once every other
        artefact is written).
        """
        prepared = self.prepare(rules, pairs=pairs)
        output = Path(output_dir)
        if not enable_versioning:
            path = output / HOOK_FILENAME
            atomic_write_text(path, prepared.source)
            return prepared.written(path)
        manager = HookVersionManager(output)
        version_id = manager.save_version(
            prepared.source, prepared.rules_written, note=note, activate=activate
        )
        return prepared.written(manager.active_path, version_id)

    def prepare(
        self, rules: RuleSet | Sequence[Rule], *, pairs: Sequence[FeedbackPair] | None = None
    ) -> PreparedHook:
        """The hook's source, validated and replayed on the pairs; nothing is written."""
        source, kept, skipped = self.render(rules)
        validate_hook_source(source)
        if pairs is None:
            pairs = list(rules.pairs) if isinstance(rules, RuleSet) else []
        replay = (
            replay_in_subprocess(source, pairs, timeout_s=self.timeout_s)
            if self.check_in_subprocess
            else None
        )
        return PreparedHook(source, len(kept), skipped, replay)
