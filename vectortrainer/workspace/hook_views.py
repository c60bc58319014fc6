"""A function's hook versions as every face shows them: rows with checksum state, why a version
is not live and where it came from, and what a rollback would change.

The TUI's hooks screen, the CLI's ``hooks list`` and the web page's hook page list
:func:`hook_versions_view` and show ``Hooks.rule_diff``; none opens a version
file or parses a hook itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from vectortrainer.display import readable_time
from vectortrainer.errors import HookVersionError
from vectortrainer.hooks.template import HOOK_FILENAME
from vectortrainer.hooks.versions import HookVersionManager


@dataclass(frozen=True)
class HookVersionRow:
    """One saved hook version, with its checksum verified."""

    version_id: str
    timestamp: str
    rules: int
    active: bool
    sha256: str
    note: str = ""
    problem: str | None = None  # why its checksum or file failed; None when it verified
    state: str = ""  # active, switched off, refused by its gate, rolled back from, superseded…
    origin: str = ""  # app, cli, run <id>, loop run <id>
    gate_reason: str = ""  # the hook gate's words, when it judged the version

    @property
    def checksum_ok(self) -> bool:
        return self.problem is None

    @property
    def created(self) -> str:
        """The timestamp as people read it (``2026-11-25 15:59:16``)."""
        return readable_time(self.timestamp)


@dataclass
class HookVersionsView:
    """One function's hook versions, oldest first."""

    hooks_dir: Path  # the function's own folder
    rows: list[HookVersionRow]
    active: str | None
    warnings: list[str] = field(default_factory=list)
    problem: str | None = None  # set when there is no version store yet (and what makes one)


def hook_versions_view(hooks_dir: str | os.PathLike[str], function: str) -> HookVersionsView:
    """Every version of ``function``'s hook with its state and checksum; never creates anything."""
    manager = HookVersionManager.for_function(hooks_dir, function)
    if not manager.versions_dir.is_dir():
        legacy = Path(hooks_dir) / HOOK_FILENAME
        note = (f"; {legacy} (a hook of the one-hook layout) runs for every function without "
                "a hook of its own") if legacy.is_file() else ""
        return HookVersionsView(manager.output_dir, [], None, problem=(
            f"no hook versions of {function} in {manager.output_dir} yet: "
            f"`vectortrainer rules synthesize --function {function} --activate` (or the rules "
            f"screen's 'make hook') saves the first one{note}"))
    versions = manager.list_versions()
    rows = []
    for version in versions:
        try:
            manager.read_version(version.version_id)
            problem = None
        except HookVersionError as exc:
            problem = str(exc).split(";")[0]
        reason = str((version.gate or {}).get("reason") or "")
        rows.append(HookVersionRow(version.version_id, version.timestamp, version.rules_count,
                                   version.active, version.sha256, version.note, problem,
                                   version.state, version.origin, reason))
    active = next((v.version_id for v in versions if v.active), None)
    return HookVersionsView(manager.output_dir, rows, active, warnings=list(manager.warnings))
