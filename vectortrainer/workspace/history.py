"""What was live and can be again: hook versions and trained models, compared, rolled back.

FR-7 (hooks) and VT-13 (models).

Both are versions of the one primitive (:mod:`vectortrainer.registry.versions`): the
hook versions of the configured hooks directory, and each function's models in the
configured models directory. A rollback is one call; running processes follow within
their reload interval. A model whose base model is past its shutdown is never promoted
again, by any face (:func:`~vectortrainer.gate.promotion.entry_refusal`).
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from vectortrainer.canary.release import release_deployment
from vectortrainer.errors import (
    ConfigError,
    HookVersionError,
    ModelRegistryError,
    VectorTrainerError,
)
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.gate.holdout import split_pairs
from vectortrainer.gate.promotion import entry_refusal
from vectortrainer.hooks.rule_diff import RuleDiff, diff_rules_documents
from vectortrainer.hooks.versions import VERSIONS_DIRNAME, HookVersion, HookVersionManager
from vectortrainer.loop import read_state
from vectortrainer.registry.canary import CanaryRecord
from vectortrainer.registry.layout import function_name_of
from vectortrainer.registry.models import ModelEntry, ModelRegistry, registered_functions
from vectortrainer.registry.routing import CanaryRoute
from vectortrainer.rules.learning import pairs_for_function
from vectortrainer.workspace.base import UseCases
from vectortrainer.workspace.hook_views import HookVersionsView, hook_versions_view


class Hooks(UseCases):
    """Each function's hook versions in the configured hooks directory (VT-18)."""

    @property
    def directory(self) -> Path:
        return Path(self._workspace.config.hooks.dir)

    def functions(self) -> list[str]:
        """The functions that have hook versions here, sorted."""
        root = self.directory
        if not root.is_dir():
            return []
        # a shortened long name is left out: its folder does not hold the name (hooks record none)
        names = (
            function_name_of(p.name) for p in root.iterdir() if (p / VERSIONS_DIRNAME).is_dir()
        )
        return sorted(name for name in names if name is not None)

    def manager(self, function: str) -> HookVersionManager:
        """``function``'s version store; one with no versions yet is an error that says what makes
        one."""
        manager = HookVersionManager.for_function(self.directory, function)
        if not manager.versions_dir.is_dir():
            raise HookVersionError(
                f"{manager.output_dir}: no hook versions of {function} yet (make one with "
                f"`vectortrainer rules synthesize --function {function} --activate`)"
            )
        return manager

    def live(self, function: str) -> str | None:
        """The version ``function`` runs now (None: no hook)."""
        active = HookVersionManager.for_function(self.directory, function).get_active_version()
        return active.version_id if active else None

    def view(self, function: str) -> HookVersionsView:
        """Every saved version of ``function``: active, state, origin, checksum; oldest first."""
        return hook_versions_view(self.directory, function)

    def rule_diff(self, function: str, version_id: str, against: str | None = None) -> RuleDiff:
        """What making ``version_id`` live would change, rule by rule, against ``against`` (default:
        what is live now; against no rules when no hook is live or ``version_id`` is the live one,
        so the live hook shows what it does rather than nothing against itself).

        Each rule keeps the feedback pairs it was learned from while the feedback file still
        holds them (the function's pairs the gate learned from); a note says when it does not.
        """
        manager = self.manager(function)
        base = against or self.live(function)
        if against is None and base == version_id:
            base = None
        before = manager.rules_document(base) if base else {"rules": []}
        after = manager.rules_document(version_id)
        config = self._workspace.config
        learned = split_pairs(
            pairs_for_function(FeedbackStore(config.feedback.path).pairs(), function),
            config.gate.holdout_every,
        )[0]
        return diff_rules_documents(
            before,
            after,
            before_pairs=learned,
            after_pairs=learned,
            before_label=base or "no hook",
            after_label=version_id,
        )

    def rollback(self, function: str, version_id: str | None = None) -> HookVersion:
        """Make ``version_id`` (default: what was live just before) ``function``'s hook now."""
        return self.manager(function).rollback(version_id)

    def deactivate(self, function: str) -> HookVersion | None:
        """Run ``function`` with no hook from now on; a rollback goes back. Returns what ran."""
        return self.manager(function).deactivate()


class Models(UseCases):
    """The trained models of each function in the configured models directory."""

    @property
    def directory(self) -> Path:
        return Path(self._workspace.config.models.dir)

    def functions(self) -> list[str]:
        """The functions that have a model registry."""
        return registered_functions(self.directory)

    def registry(self, function: str | None = None) -> ModelRegistry:
        """The registry of ``function`` (default: ``selection.function``); it refuses to promote a
        model whose base model is past its shutdown."""
        config = self._workspace.config
        function = function or config.selection.function
        if not function:
            raise ConfigError(
                "--function NAME: which function's models? "
                "(or set selection.function in the config)"
            )
        # today is read at each promotion (VECTORTRAINER_TODAY included), not when opened
        refusal = functools.partial(entry_refusal, overrides=config.schedule)
        return ModelRegistry(self.directory, function, refusal=refusal)

    def rollback(self, function: str, version_id: str | None = None) -> ModelEntry:
        """Promote ``version_id`` (default: the model promoted before) for ``function`` now."""
        return self.registry(function).rollback(version_id)

    def undeploy(self, function: str, version_id: str) -> str:
        """Tear down the deployment that serves ``version_id`` (a model kept for a rollback that
        bills by the hour); what happened, in words. Refused for the model in service and for a
        candidate in canary: they answer calls."""
        registry = self.registry(function)
        entry = next((e for e in registry.list() if e.version_id == version_id), None)
        if entry is None:
            known = ", ".join(e.version_id for e in registry.list()) or "none"
            raise ModelRegistryError(f"no model {version_id!r} of {function} (known: {known})")
        route = registry.canary()
        if entry.promoted or (route is not None and route.version_id == version_id):
            raise ModelRegistryError(
                f"{version_id} of {function} answers calls now ("
                f"{'the promoted model' if entry.promoted else 'in canary'}); promote or roll "
                "back to another model first, then tear its deployment down")
        return release_deployment(self._workspace.config, registry, version_id) or (
            f"{version_id} of {function} holds no deployment: nothing to tear down")

    def canary(self, function: str) -> CanaryRoute | None:
        """The canary of ``function`` running now (None: none)."""
        return self.registry(function).canary()

    def stop_canary(self, function: str) -> CanaryRecord:
        """Stop ``function``'s canary now: the promoted model serves every call again, and the
        candidate's entry records that a person stopped it (with the loop's last figures)."""
        registry = self.registry(function)
        route = registry.canary()
        if route is None:
            raise ModelRegistryError(
                f"no canary of {function} is running in {registry.directory}; nothing to stop"
            )
        try:
            look = read_state(self._workspace.config, function).canary
        except VectorTrainerError:  # a damaged loop state: stopped without its figures
            look = None
        figures = look.get("figures") if look and look.get("version_id") == route.version_id \
            else None
        record = registry.stop_canary(
            decided_by="person",
            reason=f"{route.incumbent_version or 'the promoted model'} serves every call again",
            figures=figures if isinstance(figures, dict) else None)
        # its deployment, if its provider needed one, serves nothing now: given back
        released = release_deployment(self._workspace.config, registry, route.version_id)
        return dataclasses.replace(record, reason=f"{record.reason}; {released}") if released \
            else record
