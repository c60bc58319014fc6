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

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from vectortrainer.errors import HookVersionError, SettingError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.gate.holdout import split_pairs
from vectortrainer.hooks.generator import HookScriptGenerator
from vectortrainer.hooks.report import rules_report
from vectortrainer.hooks.validation import replay_in_subprocess, validate_hook_source
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.json_types import JSONObject
from vectortrainer.rules.learning import Choice, learn_rules, pairs_for_function
from vectortrainer.rules.synthesis import RuleSet
from vectortrainer.store.source import LogReader

# Below this many held-out pairs, a refusal says how little it rests on (the demo's
# classify_intent holds out one pair of 16, a correction made once that no rule can learn).
FEW_HELD_OUT = 3


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
    """The decision, the version it was saved as (None when nothing new was saved), and what is
    live now and was live before."""

    decision: HookGateDecision
    version_id: str | None = None
    live_before: str | None = None
    live_now: str | None = None
    rule_set: RuleSet | None = field(default=None, repr=False)  # the candidate judged

    @property
    def news(self) -> str:
        """The run's log line of it."""
        state = "active" if self.decision.passed else "inactive"
        return (f"hook {self.version_id or '(unchanged)'}: {state} ({self.decision.reason}); "
                f"{self.live_words}")

    @property
    def live_words(self) -> str:
        """What runs now, and what ran before, in words."""
        now, before = self.live_now or "no hook", self.live_before or "no hook"
        return f"live now: {now}" + ("" if now == before else f" (before: {before})")

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
            "live_before": self.live_before,
            "live_now": self.live_now,
            "note": f"{note}; {self.live_words}",
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
    """Replay ``source`` (and the active hook) and decide; see the module docstring.

    ``margin`` must be a finite share in [0, 1]: a negative or NaN one would let a hook that
    repairs less than the active one through (``SettingError`` otherwise).
    """
    if not (isinstance(margin, (int, float)) and math.isfinite(margin) and 0 <= margin <= 1):
        raise SettingError("hook_margin", margin, "must be a finite number in [0, 1]")
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
    elif not decision.mean_repair > 0:  # NaN repairs nothing
        decision.reason = f"it repairs none of the {len(held_out)} held-out bad outputs"
        if len(held_out) < FEW_HELD_OUT:  # one one-off correction held out says little
            decision.reason += (
                f"; {len(held_out)} held-out pair{'s' if len(held_out) > 1 else ''} is little to "
                "judge on: record more corrections, or roll back to this version to make it live"
            )
    elif (
        decision.active_mean_repair is not None
        and not decision.mean_repair >= decision.active_mean_repair + margin  # NaN fails
    ):
        by = f" by the margin {margin:.1%}" if margin else ""
        decision.reason = (
            f"held-out repair {decision.mean_repair:.1%} does not beat the active hook "
            f"{active_version} ({decision.active_mean_repair:.1%}){by}"
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
    function: str,
    holdout_every: int,
    semantic_screen: bool,
    margin: float = 0.0,
    note: str = "",
    origin: str = "",
    choices: Mapping[str, Choice] | None = None,
    feedback_path: str | os.PathLike[str] | None = None,
    logs: LogReader | None = None,
) -> HookGateOutcome | None:
    """Learn ``function``'s hook from its pairs not held out, judge it, and save it in its own
    folder of ``hooks_dir`` (active only when it passed).

    ``choices`` are a person's decisions on conflicts (those that still arise among the
    learning pairs are applied). With ``logs`` (the store) each rule's blast radius is
    measured on the function's uncorrected logs, and narrowed or held back by it, exactly as
    the rules a face shows before publishing. None when no rule can be learned. A candidate
    identical to a saved version is not saved again: the active one stays; an inactive one that
    passes now is made active.
    """
    pairs = pairs_for_function(pairs, function)
    learn, held = split_pairs(pairs, holdout_every)
    rule_set = learn_rules(learn, semantic_screen=semantic_screen, function=function, source=logs)
    if choices:
        known = {conflict.conflict_id for conflict in rule_set.conflicts}
        applicable = {key: choice for key, choice in choices.items() if key in known}
        if applicable:
            rule_set = learn_rules(learn, semantic_screen=semantic_screen, function=function,
                                   choices=applicable, source=logs)
    if not rule_set.rules:
        return None
    source, kept, _ = HookScriptGenerator().render(rule_set)
    validate_hook_source(source)
    manager = HookVersionManager.for_function(hooks_dir, function)
    active = manager.get_active_version()
    same = manager.find_same(source)
    before = active.version_id if active else None
    if same is not None and same.active:
        decision = HookGateDecision(passed=True, rules=len(kept), active_version=before,
                                    reason=f"the same hook as the active version {before}")
        return HookGateOutcome(decision, None, live_before=before, live_now=before)
    active_source = None
    if active is not None:
        try:
            active_source = manager.read_version(active.version_id)
        except HookVersionError:
            active_source = None  # a damaged active version is no bar to beat
    good = [p for p in pairs if p.fixed_output]
    decision = judge_hook(source, held, good, active_source=active_source,
                          active_version=before, margin=margin, rules=len(kept))
    if same is not None:  # saved before: judged again, never saved twice
        version_id: str | None = same.version_id
        if decision.passed:
            manager.activate(same.version_id)
        else:
            version_id = None
            decision.reason += f" (the same hook as {same.version_id}, not saved again)"
    else:
        document = rules_report(rule_set, feedback_path=feedback_path)
        version_id = manager.save_version(source, len(kept), note=note, activate=decision.passed,
                                          gate=decision.to_dict(), origin=origin,
                                          rules_document=document)
    now = manager.get_active_version()
    return HookGateOutcome(decision, version_id, live_before=before,
                           live_now=now.version_id if now else None, rule_set=rule_set)
