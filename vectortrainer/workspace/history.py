"""What was live and can be again: hook versions and trained models, compared, rolled back.

FR-7 (hooks) and VT-13 (models).

Both are versions of the one primitive (:mod:`vectortrainer.registry.versions`): the
hook versions of the configured hooks directory, and each function's models in the
configured models directory. A rollback is one call; running processes follow within
their reload interval.
"""

from __future__ import annotations

from pathlib import Path

from vectortrainer.errors import ConfigError, HookVersionError
from vectortrainer.hooks.versions import HookVersion, HookVersionManager
from vectortrainer.registry.models import ModelEntry, ModelRegistry, registered_functions
from vectortrainer.workspace.base import UseCases
from vectortrainer.workspace.hook_views import HookVersionsView, hook_versions_view, rollback_diff


class Hooks(UseCases):
    """The hook versions of the configured hooks directory."""

    @property
    def directory(self) -> Path:
        return Path(self._workspace.config.hooks.dir)

    def manager(self) -> HookVersionManager:
        """The version store; a missing hooks directory is an error that says what makes one."""
        if not self.directory.is_dir():
            raise HookVersionError(
                f"{self.directory}: no hooks directory (run `vectortrainer rules synthesize` first)"
            )
        return HookVersionManager(self.directory)

    def view(self) -> HookVersionsView:
        """Every saved version, its active flag and checksum state, oldest first; writes nothing."""
        return hook_versions_view(self.directory)

    def rollback_diff(self, version_id: str) -> str:
        """What making ``version_id`` active would change (a unified diff of the rules)."""
        return rollback_diff(self.directory, version_id)

    def rollback(self, version_id: str | None = None) -> HookVersion:
        """Make ``version_id`` (default: the version before the active one) the active hook now."""
        return self.manager().rollback(version_id)


class Models(UseCases):
    """The trained models of each function in the configured models directory."""

    @property
    def directory(self) -> Path:
        return Path(self._workspace.config.models.dir)

    def functions(self) -> list[str]:
        """The functions that have a model registry."""
        return registered_functions(self.directory)

    def registry(self, function: str | None = None) -> ModelRegistry:
        """The registry of ``function`` (default: ``selection.function``)."""
        function = function or self._workspace.config.selection.function
        if not function:
            raise ConfigError(
                "--function NAME: which function's models? "
                "(or set selection.function in the config)"
            )
        return ModelRegistry(self.directory, function)

    def rollback(self, function: str, version_id: str | None = None) -> ModelEntry:
        """Promote ``version_id`` (default: the model promoted before) for ``function`` now."""
        return self.registry(function).rollback(version_id)
