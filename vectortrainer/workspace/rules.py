"""Rules as the faces ask for them: learn from feedback, settle conflicts, replay, publish a hook
(through the hook gate only: nothing a face does makes a hook live ungated).

FR-2, FR-7.

Learning reads the configured feedback file and, when the store exists, measures each
rule's blast radius on the function's uncorrected logs: the same call the pipeline's
synthesize stage makes (:func:`vectortrainer.rules.learning.learn_from_feedback`).
"""

from __future__ import annotations

from collections.abc import Mapping

from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.gate.hook_gate import HookGateOutcome, publish_gated_hook
from vectortrainer.hooks.generator import HookScriptGenerator
from vectortrainer.hooks.report import rules_report
from vectortrainer.hooks.validation import replay_in_subprocess
from vectortrainer.json_types import JSONObject
from vectortrainer.rules.learning import (
    Choice,
    LearnedRules,
    SynthesisProgress,
    learn_from_feedback,
)
from vectortrainer.rules.replay import ReplayReport
from vectortrainer.rules.synthesis import RuleSet
from vectortrainer.workspace.base import UseCases


class Rules(UseCases):
    """Rule synthesis over the workspace's feedback file, store and hooks directory."""

    def synthesize(
        self,
        *,
        function: str | None = None,
        choices: Mapping[str, Choice] | None = None,
        progress: SynthesisProgress | None = None,
        must_exist: bool = False,
    ) -> LearnedRules:
        """Rules from every recorded pair (of ``function``, when given), as every face learns them.

        The result names the malformed feedback lines skipped and the lines read with U+FFFD;
        with ``must_exist`` a missing feedback file is an error that names it.
        """
        workspace = self._workspace
        config = workspace.config
        return learn_from_feedback(
            config.feedback.path,
            semantic_screen=config.feedback.semantic_screen,
            function=function,
            choices=choices,
            source=workspace.open_store() if workspace.store_exists() else None,
            progress=progress,
            must_exist=must_exist,
        )

    @staticmethod
    def resolve_conflict(
        rule_set: RuleSet, conflict_id: str, choice: int | str, order: list[int] | None = None
    ) -> RuleSet:
        """The rules re-learned with a person's decision on one conflict.

        Raises ``RuleSynthesisError`` when the decision cannot be applied safely.
        """
        return rule_set.resolve(conflict_id, choice, order)

    def document(self, rule_set: RuleSet) -> JSONObject:
        """``rule_set`` as a rules document (the shape of ``rules.json``)."""
        return rules_report(rule_set, feedback_path=self._workspace.config.feedback.path)

    @staticmethod
    def replay(rule_set: RuleSet) -> ReplayReport:
        """How the hook these rules make does on the feedback pairs, without saving it."""
        source, _, _ = HookScriptGenerator().render(rule_set)
        return replay_in_subprocess(source, list(rule_set.pairs))

    def publish(
        self,
        function: str,
        *,
        choices: Mapping[str, Choice] | None = None,
        note: str = "",
        origin: str = "app",
    ) -> HookGateOutcome | None:
        """Learn ``function``'s hook and make it live only through the hook gate (VT-18).

        The same gate as a run's: learned from the pairs not held out, it must repair the
        held-out ones (at least as well as the live hook) and change no fixed output; it is
        saved either way (inactive with the reason when refused; an identical hook is never
        saved twice). ``origin`` says where it came from ("app", "cli"). Each rule's blast
        radius is measured on the store's logs when there is a store, as :meth:`synthesize`
        does. None when no rule can be learned.
        """
        workspace = self._workspace
        config = workspace.config
        feedback, gate = config.feedback, config.gate
        return publish_gated_hook(
            FeedbackStore(feedback.path).pairs(),
            config.hooks.dir,
            function=function,
            holdout_every=gate.holdout_every,
            semantic_screen=feedback.semantic_screen,
            margin=gate.hook_margin,
            note=note,
            origin=origin,
            choices=choices,
            feedback_path=feedback.path,
            logs=workspace.open_store() if workspace.store_exists() else None,
        )
