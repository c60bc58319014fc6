"""The hook gate: a new hook version goes live only when it repairs held-out pairs and spares good
outputs.

The candidate hook is learned from the feedback pairs that are not held out
(:func:`~vectortrainer.gate.holdout.split_pairs`), validated like every hook, and
replayed in a clean interpreter twice: on the held-out pairs (it must repair their
bad outputs, at least as well as the active hook does, by ``margin``) and on every
pair's fixed output, the sample of outputs known to be good (it must change none).
It is saved as a new version either way: active when it passed, inactive with the
figures and the reason when it did not. ``HookScriptGenerator.generate`` is not
gated: a person asking for a hook gets it (FR-7.4).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from vectortrainer.errors import HookVersionError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.files import sha256_text
from vectortrainer.gate.holdout import split_pairs
from vectortrainer.hooks.generator import HookScriptGenerator
from vectortrainer.hooks.validation import replay_in_subprocess, validate_hook_source
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.json_types import JSONObject
from vectortrainer.rules.learning import learn_rules, pairs_for_function


@dataclass
class HookGateDecision:
    """What the hook gate measured and decided (stored with the version as ``gate``)."""

    passed: bool
    reason: str
    held_out: int = 0
    exact_fixes: int = 0
    mean_repair: float = 0.0
    active_version: str | None = None
    active_mean_repair: float | None = None
    good_checked: int = 0
    good_changed: list[int] = field(default_factory=list)
    rules: int = 0

    def to_dict(self) -> JSONObject:
        return asdict(self)


@dataclass
class HookGateOutcome:
    """The decision and the version it was saved as (None when nothing new was saved)."""

    decision: HookGateDecision
    version_id: str | None = None

    @property
    def news(self) -> str:
        """The run's log line of it."""
        state = "active" if self.decision.passed else "inactive"
        return f"hook {self.version_id or '(unchanged)'}: {state} ({self.decision.reason})"

    @property
    def level(self) -> str:
        return "info" if self.decision.passed else "warning"

    def detail(self) -> JSONObject:
        """What a run's hook stage records in ``run.json``."""
        if self.version_id is None:
            note = self.decision.reason
        elif self.decision.passed:
            note = f"{self.version_id} active"
        else:
            note = f"{self.version_id} kept inactive"
        return {
            "version_id": self.version_id,
            "active": self.decision.passed,
            "reason": self.decision.reason,
            "gate": self.decision.to_dict(),
            "note": note,
        }


def judge_hook(
    source: str,
    held_out: Sequence[FeedbackPair],
    good: Sequence[FeedbackPair],
    *,
    active_source: str | None = None,
    active_version: str | None = None,
    margin: float = 0.0,
    rules: int = 0,
    timeout_s: float = 30.0,
) -> HookGateDecision:
    """Replay ``source`` (and the active hook) and decide; see the module docstring."""
    decision = HookGateDecision(
        passed=False,
        reason="",
        held_out=len(held_out),
        good_checked=len(good),
        rules=rules,
        active_version=active_version,
    )
    if not held_out:
        decision.reason = "no held-out feedback pair to judge it on (record more corrections)"
        return decision
    repaired = replay_in_subprocess(source, held_out, timeout_s=timeout_s)
    decision.exact_fixes, decision.mean_repair = (
        repaired.exact_fixes,
        round(repaired.mean_repair, 4),
    )
    decision.good_changed = (
        replay_in_subprocess(source, good, timeout_s=timeout_s).good_changed if good else []
    )
    if active_source is not None:
        decision.active_mean_repair = round(
            replay_in_subprocess(active_source, held_out, timeout_s=timeout_s).mean_repair, 4
        )
    if decision.good_changed:
        decision.reason = (
            f"it changes {len(decision.good_changed)} of {len(good)} fixed (good) outputs"
        )
    elif decision.mean_repair <= 0:
        decision.reason = f"it repairs none of the {len(held_out)} held-out bad outputs"
    elif (
        decision.active_mean_repair is not None
        and decision.mean_repair < decision.active_mean_repair + margin
    ):
        decision.reason = (
            f"held-out repair {decision.mean_repair:.1%} does not beat the active hook "
            f"{active_version} ({decision.active_mean_repair:.1%}) by {margin:.1%}"
        )
    else:
        decision.passed = True
        against = (f", active {active_version} {decision.active_mean_repair:.1%}"
                   if decision.active_mean_repair is not None else "")
        decision.reason = (
            f"repairs {decision.mean_repair:.1%} of the held-out distance ({decision.exact_fixes}/"
            f"{len(held_out)} exact{against}) and changes no good output"
        )
    return decision


def publish_gated_hook(
    pairs: Sequence[FeedbackPair],
    hooks_dir: str | os.PathLike[str],
    *,
    holdout_every: int,
    semantic_screen: bool,
    function: str | None,
    margin: float = 0.0,
    note: str = "",
) -> HookGateOutcome | None:
    """Learn a hook from the pairs not held out, judge it, and save it (active only when it passed).

    None when no rule can be learned; a candidate identical to the active hook is not saved again.
    """
    pairs = pairs_for_function(pairs, function)
    learn, held = split_pairs(pairs, holdout_every)
    rule_set = learn_rules(learn, semantic_screen=semantic_screen, function=function)
    if not rule_set.rules:
        return None
    source, kept, _ = HookScriptGenerator().render(rule_set)
    validate_hook_source(source)
    manager = HookVersionManager(hooks_dir)
    active = manager.get_active_version()
    if active is not None and active.sha256 == sha256_text(source):
        decision = HookGateDecision(
            passed=True,
            reason=f"the same hook as the active version {active.version_id}",
            rules=len(kept),
            active_version=active.version_id,
        )
        return HookGateOutcome(decision, None)
    active_source = None
    if active is not None:
        try:
            active_source = manager.read_version(active.version_id)
        except HookVersionError:
            active_source = None  # a damaged active version is no bar to beat
    good = [p for p in pairs if p.fixed_output]
    decision = judge_hook(
        source,
        held,
        good,
        active_source=active_source,
        active_version=active.version_id if active else None,
        margin=margin,
        rules=len(kept),
    )
    version_id = manager.save_version(
        source, len(kept), note=note, activate=decision.passed, gate=decision.to_dict()
    )
    return HookGateOutcome(decision, version_id)
