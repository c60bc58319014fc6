"""Hook versions as every face shows them: rows with checksum state, and what a rollback would
change.

The TUI's hooks screen and the web page's hook page both list
:func:`hook_versions_view` and show :func:`rollback_diff`; neither opens a version
file or parses a hook itself.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from vectortrainer.display import readable_time
from vectortrainer.errors import HookVersionError
from vectortrainer.hooks.template import read_rules_document
from vectortrainer.hooks.versions import VERSIONS_DIRNAME, HookVersionManager


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

    @property
    def checksum_ok(self) -> bool:
        return self.problem is None

    @property
    def created(self) -> str:
        """The timestamp as people read it (``2026-11-25 15:59:16``)."""
        return readable_time(self.timestamp)


@dataclass
class HookVersionsView:
    """The hook version store of one hooks directory, oldest version first."""

    hooks_dir: Path
    rows: list[HookVersionRow]
    active: str | None
    warnings: list[str] = field(default_factory=list)
    problem: str | None = None  # set when there is no version store yet (and what makes one)


def hook_versions_view(hooks_dir: str | os.PathLike[str]) -> HookVersionsView:
    """Every version with its active flag and checksum state; never creates the version store."""
    hooks_dir = Path(hooks_dir)
    if not (hooks_dir / VERSIONS_DIRNAME).is_dir():
        return HookVersionsView(hooks_dir, [], None, problem=(
            f"no hook versions in {hooks_dir} yet: `vectortrainer rules synthesize` (or the rules "
            f"screen's 'make hook') saves the first one"))
    manager = HookVersionManager(hooks_dir)
    versions = manager.list_versions()
    rows = []
    for version in versions:
        try:
            manager.read_version(version.version_id)
            problem = None
        except HookVersionError as exc:
            problem = str(exc).split(";")[0]
        rows.append(
            HookVersionRow(
                version.version_id,
                version.timestamp,
                version.rules_count,
                version.active,
                version.sha256,
                version.note,
                problem,
            )
        )
    active = next((v.version_id for v in versions if v.active), None)
    return HookVersionsView(hooks_dir, rows, active, warnings=list(manager.warnings))


def rollback_diff(hooks_dir: str | os.PathLike[str], version_id: str) -> str:
    """What making ``version_id`` active would change, as a unified diff of the rules (empty:
    nothing).

    Hooks made by the generator are compared rule by rule (one key per line); any
    other hook falls back to the diff of the sources.
    """
    manager = HookVersionManager(hooks_dir)
    active = manager.get_active_version()
    if active is None or active.version_id == version_id:
        return ""
    before = _rules_listing(manager.read_version(active.version_id))
    after = _rules_listing(manager.read_version(version_id))
    if before is None or after is None:
        return manager.diff(active.version_id, version_id)
    return "".join(
        difflib.unified_diff(before, after, fromfile=active.version_id, tofile=version_id, n=2)
    )


def _rules_listing(source: str) -> list[str] | None:
    """The rules one key per line, without their evidence: the diff shows what a rollback changes in
    behaviour."""
    document = read_rules_document(source)
    if document is None:
        return None
    rules = [{k: v for k, v in rule.items() if k != "evidence"} if isinstance(rule, dict) else rule
             for rule in document["rules"]]
    return json.dumps(rules, indent=1, sort_keys=True, ensure_ascii=False).splitlines(keepends=True)
