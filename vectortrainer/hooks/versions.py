"""Hook versions with instant rollback, safe against crashes and concurrent writers (FR-7, VT-7).

Layout in the hooks directory::

    generated_prompt_hook.py              the active hook
    .hook_versions/v001_20250101T120000123456Z.py       every saved version
    .hook_versions/v001_20250101T120000123456Z.meta.json its metadata (sha256, note, rules, gate
                                                         figures)
    .hook_versions/manifest.json          index of all versions and which is active
    .hook_versions/.lock                  serialises writers; names the one holding it

The store is the one versioning primitive, :class:`~vectortrainer.registry.versions.VersionStore`
(atomic writes, checksums, lock, a manifest rebuilt from the files); this module
gives it the hook's names and checks a version's code before it is restored. A
version a gate refused is saved inactive with its figures (``gate``) and is passed
over by a rollback to "the previous one".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vectortrainer.errors import HookValidationError, HookVersionError
from vectortrainer.hooks.template import HOOK_FILENAME, rules_count_of
from vectortrainer.hooks.validation import validate_hook_source
from vectortrainer.json_types import JSONObject
from vectortrainer.registry.layout import HOOK_VERSIONS_DIRNAME, MANIFEST_NAME
from vectortrainer.registry.versions import Entry, VerifyReport, VersionKind, VersionStore

VERSIONS_DIRNAME = HOOK_VERSIONS_DIRNAME
__all__ = ["HookVersion", "HookVersionManager", "MANIFEST_NAME", "VERSIONS_DIRNAME", "VerifyReport"]


@dataclass
class HookVersion:
    version_id: str
    timestamp: str
    rules_count: int
    sha256: str
    file: str
    note: str = ""
    active: bool = False
    # the hook gate's figures and decision, when a gate judged it
    gate: JSONObject | None = None
    unverified: bool = False  # found without our metadata: listed, never restored or diffed

    def to_dict(self) -> JSONObject:
        data = {
            "version_id": self.version_id,
            "timestamp": self.timestamp,
            "rules_count": self.rules_count,
            "sha256": self.sha256,
            "file": self.file,
            "note": self.note,
            "active": self.active,
        }
        if self.gate is not None:
            data["gate"] = self.gate
        if self.unverified:
            data["unverified"] = True
        return data

    @classmethod
    def from_entry(cls, entry: Entry) -> "HookVersion":
        gate = entry.fields.get("gate")
        return cls(
            entry.version_id,
            entry.timestamp,
            int(entry.fields.get("rules_count") or 0),
            entry.sha256,
            entry.file,
            entry.note,
            entry.active,
            dict(gate) if isinstance(gate, dict) else None,
            entry.unverified,
        )


def _describe(source: str) -> JSONObject:
    return {"rules_count": rules_count_of(source) or 0}


def _check_hook(entry: Entry, source: str) -> None:
    try:
        validate_hook_source(source)
    except HookValidationError as exc:
        raise HookVersionError(
            f"hook version {entry.version_id} is not a valid hook ({exc}); not restored"
        ) from None


HOOK_VERSIONS = VersionKind("v", ".py", "hook version", HookVersionError, ("rules_count",),
                            _describe, validate_hook_source)


class HookVersionManager:
    """Keeps timestamped versions of the hook in ``<output_dir>/.hook_versions`` (FR-7.1)."""

    def __init__(
        self, output_dir: str | os.PathLike[str], *, lock_timeout_s: float | None = None
    ) -> None:
        self.output_dir = Path(output_dir)
        self.store = VersionStore(self.output_dir / VERSIONS_DIRNAME,
                                  self.output_dir / HOOK_FILENAME, HOOK_VERSIONS,
                                  lock_timeout_s=lock_timeout_s)
        self.versions_dir = self.store.versions_dir
        self.manifest_path = self.store.manifest_path
        self.active_path = self.store.active_path

    @property
    def warnings(self) -> list[str]:
        return self.store.warnings

    def save_version(self, source: str, rules_count: int, note: str = "", *, activate: bool = True,
                     gate: JSONObject | None = None) -> str:
        """Save ``source`` as a new version (and make it the active hook); returns its id (FR-7.1,
        FR-7.4)."""
        fields: JSONObject = {"rules_count": int(rules_count)}
        if gate is not None:
            fields["gate"] = gate
        return self.store.save(source, fields, note, activate=activate).version_id

    def list_versions(self) -> list[HookVersion]:
        """All versions, oldest first, with the active flag (FR-7.2)."""
        return [HookVersion.from_entry(e) for e in self.store.entries()]

    def get_active_version(self) -> HookVersion | None:
        return next((v for v in self.list_versions() if v.active), None)

    def read_version(self, version_id: str) -> str:
        """The source of a version, after checking its checksum."""
        return self.store.read(version_id)

    def activate(self, version_id: str) -> HookVersion:
        """Make a saved version the active hook (checksum and code verified first, as for a
        rollback)."""
        return HookVersion.from_entry(
            self.store.activate(version_id, validate=_check_hook, action="activate")
        )

    def rollback(self, version_id: str | None = None) -> HookVersion:
        """Make ``version_id`` (or the version before the active one) the active hook (FR-7.3).

        The version's checksum and its code are verified first; on any failure the
        active hook is left exactly as it was.
        """
        if version_id is None and not self.store.entries():
            raise HookVersionError(
                f"no hook versions in {self.versions_dir}; generate a hook first"
            )
        return HookVersion.from_entry(self.store.activate(version_id, validate=_check_hook))

    def diff(self, a: str, b: str) -> str:
        """Unified diff of two versions' sources (checksums verified)."""
        return self.store.diff(a, b)

    def verify(self) -> VerifyReport:
        """Check every version's checksum and whether the active hook is a known version."""
        return self.store.verify()
