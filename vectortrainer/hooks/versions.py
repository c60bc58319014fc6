"""Hook versions with instant rollback, safe against crashes and concurrent writers (FR-7, VT-7).

Every function has its own hook (VT-18): ``<hooks_dir>/<function>/`` holds::

    generated_prompt_hook.py              the active hook (absent: the function runs unhooked)
    rules.json                            the rules of the active hook (always that one)
    .hook_versions/v001_20250101T120000123456Z.py       every saved version
    .hook_versions/v001_20250101T120000123456Z.meta.json its metadata (sha256, note, rules, gate
                                                         figures, where it came from)
    .hook_versions/v001.rules.json        the rules document each version was made with
    .hook_versions/manifest.json          index of all versions and which is active
    .hook_versions/history.jsonl          every save, activation, rollback and deactivation
    .hook_versions/.lock                  serialises writers; names the one holding it

:meth:`HookVersionManager.for_function` opens one function's; a manager over a
directory itself is the older one-hook layout (and what ``HookScriptGenerator.generate``
writes to a path it is given).

The store is the one versioning primitive, :class:`~vectortrainer.registry.versions.VersionStore`
(atomic writes, checksums, lock, a manifest rebuilt from the files); this module
gives it the hook's names and checks a version's code before it is restored. A
version a gate refused is saved inactive with its figures (``gate``) and is passed
over by a rollback to "the previous one".
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from vectortrainer.errors import HookValidationError, HookVersionError
from vectortrainer.files import atomic_write_text, sha256_text
from vectortrainer.hooks.template import HOOK_FILENAME, read_rules_document, rules_count_of
from vectortrainer.hooks.validation import validate_hook_source
from vectortrainer.json_types import JSONObject
from vectortrainer.redaction import to_json
from vectortrainer.registry.layout import (
    HOOK_VERSIONS_DIRNAME,
    MANIFEST_NAME,
    RULES_FILENAME,
    function_hooks_dir,
)
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
    origin: str = ""  # where it came from: "app", "cli", "run <id>", "loop run <id>"
    state: str = ""  # active, switched off, refused by its gate, rolled back from, superseded…

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
        if self.origin:
            data["origin"] = self.origin
        if self.state:
            data["state"] = self.state
        return data

    @classmethod
    def from_entry(cls, entry: Entry, state: str = "") -> "HookVersion":
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
            str(entry.fields.get("origin") or ""),
            state,
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
    """Keeps timestamped versions of a hook in ``<directory>/.hook_versions`` (FR-7.1)."""

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
        self.rules_path = self.output_dir / RULES_FILENAME

    @classmethod
    def for_function(
        cls,
        hooks_dir: str | os.PathLike[str],
        function: str,
        *,
        lock_timeout_s: float | None = None,
    ) -> HookVersionManager:
        """The hook of ``function`` in the hooks directory ``hooks_dir`` (VT-18)."""
        return cls(function_hooks_dir(hooks_dir, function), lock_timeout_s=lock_timeout_s)

    @property
    def warnings(self) -> list[str]:
        return self.store.warnings

    def save_version(
        self,
        source: str,
        rules_count: int,
        note: str = "",
        *,
        activate: bool = True,
        gate: JSONObject | None = None,
        origin: str = "",
        rules_document: JSONObject | None = None,
    ) -> str:
        """Save ``source`` as a new version, with the rules document it was made from; returns its
        id (FR-7.1, FR-7.4).

        With ``activate`` it becomes the active hook only after ``rules.json`` describes it.
        The caller has validated ``source`` (the generator does); a rollback checks it again.
        """
        fields: JSONObject = {"rules_count": int(rules_count)}
        if gate is not None:
            fields["gate"] = gate
        if origin:
            fields["origin"] = origin
        version_id = self.store.save(source, fields, note, activate=False).version_id
        if rules_document is not None:
            write_rules_document(self._rules_sidecar(version_id), rules_document)
        if activate:
            entry = self.store.find(self.store.entries(), version_id)
            self._describe_active(entry, source)
            self.store.activate(version_id, action="activate")
        return version_id

    def list_versions(self) -> list[HookVersion]:
        """All versions, oldest first, with the active flag and each one's state (FR-7.2)."""
        entries = self.store.entries()
        states = self.store.states(entries)
        return [HookVersion.from_entry(e, states.get(e.version_id, "")) for e in entries]

    def get_active_version(self) -> HookVersion | None:
        return next((v for v in self.list_versions() if v.active), None)

    def find_same(self, source: str) -> HookVersion | None:
        """A saved version with exactly this source (the newest), if any."""
        digest = sha256_text(source)
        return next((v for v in reversed(self.list_versions()) if v.sha256 == digest), None)

    def read_version(self, version_id: str) -> str:
        """The source of a version, after checking its checksum."""
        return self.store.read(version_id)

    def activate(self, version_id: str) -> HookVersion:
        """Make a saved version the active hook (checksum and code verified first, as for a
        rollback); ``rules.json`` is rewritten for it first."""
        return HookVersion.from_entry(
            self.store.activate(version_id, validate=self._check_and_describe, action="activate")
        )

    def rollback(self, version_id: str | None = None) -> HookVersion:
        """Make ``version_id`` (or what was live just before) the active hook (FR-7.3, VT-18).

        The version's checksum and its code are verified first; on any failure the
        active hook is left exactly as it was. A version rolled back from is never
        chosen by default; ``rules.json`` follows the version that becomes active.
        """
        if version_id is None and not self.store.entries():
            raise HookVersionError(
                f"no hook versions in {self.versions_dir}; generate a hook first"
            )
        return HookVersion.from_entry(
            self.store.activate(version_id, validate=self._check_and_describe)
        )

    def deactivate(self) -> HookVersion | None:
        """Run the function with no hook (the active file removed); ``rollback()`` goes back.

        Returns the version that was active.
        """
        before = self.store.deactivate()
        write_rules_document(self.rules_path, {"format": 1, "hook": None, "version": None,
                                               "rules": [], "note": "no hook is active"})
        return HookVersion.from_entry(before) if before is not None else None

    def diff(self, a: str, b: str) -> str:
        """Unified diff of two versions' sources (checksums verified)."""
        return self.store.diff(a, b)

    def verify(self) -> VerifyReport:
        """Check every version's checksum and whether the active hook is a known version."""
        return self.store.verify()

    def rules_document(self, version_id: str) -> JSONObject:
        """The rules document ``version_id`` was made from (its saved copy of ``rules.json``)."""
        return self._document(version_id, None)

    def _rules_sidecar(self, version_id: str) -> Path:
        return self.versions_dir / f"{version_id}.{RULES_FILENAME}"

    def _check_and_describe(self, entry: Entry, source: str) -> None:
        """Refuse a version whose code is not a valid hook; else write ``rules.json`` for it."""
        _check_hook(entry, source)
        self._describe_active(entry, source)

    def _describe_active(self, entry: Entry, source: str) -> None:
        """``rules.json`` for ``entry``, about to become the active hook."""
        document = self._document(entry.version_id, source)
        document.update(hook=str(self.active_path), version=entry.version_id)
        write_rules_document(self.rules_path, document)

    def _document(self, version_id: str, source: str | None) -> JSONObject:
        """The version's copy of ``rules.json``; saved before those copies (or damaged), the
        document its hook embeds (``source``, else read checksum-verified)."""
        try:
            document: JSONObject = json.loads(
                self._rules_sidecar(version_id).read_text(encoding="utf-8"))
            return document
        except (OSError, ValueError):
            source = self.read_version(version_id) if source is None else source
            return {"format": 1, **(read_rules_document(source) or {"rules": []})}


def write_rules_document(path: Path, document: JSONObject) -> None:
    """``rules.json`` (or a version's copy of it), written atomically as indented JSON."""
    atomic_write_text(path, to_json(document, indent=2) + "\n")
