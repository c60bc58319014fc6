"""Hook versions with instant rollback, safe against crashes and concurrent writers (FR-7, VT-7).

Layout in the hooks directory::

    generated_prompt_hook.py              the active hook
    .hook_versions/v001_20250101T120000123456Z.py       every saved version
    .hook_versions/v001_20250101T120000123456Z.meta.json its metadata (sha256, note, ...)
    .hook_versions/manifest.json          index of all versions and which is active
    .hook_versions/.lock                  serialises writers (filelock)

Every file is written atomically (temp file + fsync + rename). The active hook
is the source of truth for "which version is active": it is matched to a
version by sha256, so a crash between writes never leaves a wrong answer. A
missing or damaged manifest is rebuilt from the version and metadata files
with a warning; nothing is lost.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock

from vectortrainer.errors import HookValidationError, HookVersionError
from vectortrainer.files import atomic_write_text, sha256_file, sha256_text
from vectortrainer.hooks.template import HOOK_FILENAME, rules_count_of
from vectortrainer.hooks.validation import validate_hook_source

logger = logging.getLogger(__name__)

VERSIONS_DIRNAME = ".hook_versions"
MANIFEST_NAME = "manifest.json"
_VERSION_FILE = re.compile(r"^(v\d{3,})_(\d{8}T\d{6}\d*Z)\.py$")


@dataclass
class HookVersion:
    version_id: str
    timestamp: str
    rules_count: int
    sha256: str
    file: str
    note: str = ""
    active: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class VerifyReport:
    """Result of `HookVersionManager.verify()`."""

    ok: bool
    active_version: str | None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class HookVersionManager:
    """Keeps timestamped versions of the hook in ``<output_dir>/.hook_versions`` (FR-7.1)."""

    def __init__(self, output_dir: str | os.PathLike[str], *, lock_timeout_s: float = 30.0) -> None:
        self.output_dir = Path(output_dir)
        self.versions_dir = self.output_dir / VERSIONS_DIRNAME
        self.manifest_path = self.versions_dir / MANIFEST_NAME
        self.active_path = self.output_dir / HOOK_FILENAME
        self.warnings: list[str] = []
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.versions_dir / ".lock"), timeout=lock_timeout_s)

    # -- manifest -----------------------------------------------------------
    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        logger.warning(message)

    def _read_manifest(self) -> list[HookVersion]:
        """The versions in the manifest, rebuilt from the files when it is missing or damaged."""
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            versions = [HookVersion(**{k: entry[k] for k in HookVersion.__dataclass_fields__ if k in entry}) for entry in data["versions"]]
            on_disk = {m.group(1) for m in map(_VERSION_FILE.match, os.listdir(self.versions_dir)) if m}
            if not on_disk <= {v.version_id for v in versions}:
                raise ValueError("version files missing from the manifest")
            return versions
        except FileNotFoundError:
            if not any(_VERSION_FILE.match(n) for n in os.listdir(self.versions_dir)):
                return []
            self._warn(f"{self.manifest_path}: missing; rebuilt from the version files")
        except (ValueError, KeyError, TypeError) as exc:
            self._warn(f"{self.manifest_path}: damaged ({exc}); rebuilt from the version files")
        versions = self._rebuild()
        self._write_manifest(versions)
        return versions

    def _rebuild(self) -> list[HookVersion]:
        versions = []
        for name in sorted(os.listdir(self.versions_dir)):
            match = _VERSION_FILE.match(name)
            if not match:
                continue
            path = self.versions_dir / name
            meta = self._read_meta(path)
            if meta is None:
                source = path.read_text(encoding="utf-8", errors="replace")
                self._warn(f"{name}: no metadata; checksum recomputed from the file as it is now")
                meta = HookVersion(
                    version_id=match.group(1),
                    timestamp=match.group(2),
                    rules_count=rules_count_of(source) or 0,
                    sha256=sha256_file(path),
                    file=name,
                )
            versions.append(meta)
        versions.sort(key=lambda v: _number(v.version_id))
        return versions

    def _read_meta(self, version_file: Path) -> HookVersion | None:
        meta_path = version_file.with_suffix(".meta.json")
        try:
            data = json.loads(meta_path.read_text(encoding="utf-8"))
            return HookVersion(**{k: data[k] for k in ("version_id", "timestamp", "rules_count", "sha256", "file", "note")})
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _write_manifest(self, versions: list[HookVersion], preferred: str | None = None) -> None:
        active = self._active_id(versions, preferred)
        for version in versions:
            version.active = version.version_id == active
        document = {"format": 1, "active": active, "versions": [v.to_dict() for v in versions]}
        atomic_write_text(self.manifest_path, json.dumps(document, indent=2, sort_keys=True) + "\n")

    def _active_id(self, versions: list[HookVersion], preferred: str | None = None) -> str | None:
        """The version whose checksum the active hook file has.

        Several versions can hold the same code; then the one the manifest (or the
        caller) names wins, else the newest.
        """
        try:
            digest = sha256_file(self.active_path)
        except FileNotFoundError:
            return None
        matching = [v.version_id for v in versions if v.sha256 == digest]
        if preferred is None:
            preferred = next((v.version_id for v in versions if v.active), None)
        if preferred in matching:
            return preferred
        return matching[-1] if matching else None

    # -- public API -----------------------------------------------------------
    def save_version(self, source: str, rules_count: int, note: str = "", *, activate: bool = True) -> str:
        """Save ``source`` as a new version (and make it the active hook); returns its id (FR-7.1, FR-7.4)."""
        with self._lock:
            versions = self._read_manifest()
            numbers = [_number(v.version_id) for v in versions]
            numbers += [_number(m.group(1)) for m in map(_VERSION_FILE.match, os.listdir(self.versions_dir)) if m]
            version_id = f"v{max(numbers, default=0) + 1:03d}"
            timestamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            name = f"{version_id}_{timestamp}.py"
            version = HookVersion(version_id, timestamp, int(rules_count), sha256_text(source), name, note)
            # Order matters for crash safety: version file, its metadata, the active hook, the index.
            atomic_write_text(self.versions_dir / name, source)
            meta = {k: v for k, v in version.to_dict().items() if k != "active"}
            atomic_write_text((self.versions_dir / name).with_suffix(".meta.json"), json.dumps(meta, indent=2) + "\n")
            if activate:
                atomic_write_text(self.active_path, source)
            versions.append(version)
            self._write_manifest(versions, version_id if activate else None)
            return version_id

    def list_versions(self) -> list[HookVersion]:
        """All versions, oldest first, with the active flag (FR-7.2)."""
        with self._lock:
            versions = self._read_manifest()
            active = self._active_id(versions)
            for version in versions:
                version.active = version.version_id == active
            return versions

    def get_active_version(self) -> HookVersion | None:
        return next((v for v in self.list_versions() if v.active), None)

    def _find(self, versions: list[HookVersion], version_id: str) -> HookVersion:
        for version in versions:
            if version.version_id == version_id:
                return version
        known = ", ".join(v.version_id for v in versions) or "none"
        raise HookVersionError(f"no hook version {version_id!r} in {self.versions_dir} (known: {known})")

    def read_version(self, version_id: str) -> str:
        """The source of a version, after checking its checksum."""
        with self._lock:
            return self._checked_source(self._find(self._read_manifest(), version_id))

    def _checked_source(self, version: HookVersion) -> str:
        path = self.versions_dir / version.file
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise HookVersionError(f"hook version {version.version_id}: file {path.name} is missing") from None
        if hashlib.sha256(data).hexdigest() != version.sha256:
            raise HookVersionError(
                f"hook version {version.version_id} failed its checksum ({path.name} changed after it was saved); "
                "refusing to use it, the active hook was left as it was"
            )
        return data.decode("utf-8")

    def rollback(self, version_id: str | None = None) -> HookVersion:
        """Make ``version_id`` (or the version before the active one) the active hook (FR-7.3).

        The version's checksum and its code are verified first; on any failure the
        active hook is left exactly as it was.
        """
        with self._lock:
            versions = self._read_manifest()
            if not versions:
                raise HookVersionError(f"no hook versions in {self.versions_dir}; generate a hook first")
            if version_id is None:
                active = self._active_id(versions)
                if active is None:
                    target = versions[-1]
                else:
                    index = [v.version_id for v in versions].index(active)
                    if index == 0:
                        raise HookVersionError(f"{active} is the oldest version; there is nothing to roll back to")
                    target = versions[index - 1]
            else:
                target = self._find(versions, version_id)
            source = self._checked_source(target)
            try:
                validate_hook_source(source)
            except HookValidationError as exc:
                raise HookVersionError(f"hook version {target.version_id} is not a valid hook ({exc}); not restored") from None
            atomic_write_text(self.active_path, source)
            self._write_manifest(versions, target.version_id)
            return target

    def diff(self, a: str, b: str) -> str:
        """Unified diff of two versions' sources (checksums verified)."""
        with self._lock:
            versions = self._read_manifest()
            first, second = self._find(versions, a), self._find(versions, b)
            left, right = self._checked_source(first), self._checked_source(second)
        return "".join(
            difflib.unified_diff(
                left.splitlines(keepends=True), right.splitlines(keepends=True), fromfile=first.file, tofile=second.file
            )
        )

    def verify(self) -> VerifyReport:
        """Check every version's checksum and whether the active hook is a known version."""
        with self._lock:
            self.warnings = []
            versions = self._read_manifest()
            problems = []
            for version in versions:
                try:
                    self._checked_source(version)
                except HookVersionError as exc:
                    problems.append(str(exc).split(";")[0])
            active = self._active_id(versions)
            if self.active_path.exists() and active is None:
                problems.append(f"{self.active_path.name} matches no saved version (edited by hand?)")
            stale = [n for n in os.listdir(self.versions_dir) if n.endswith(".tmp")]
            warnings = list(self.warnings) + [f"{n}: leftover temp file of an interrupted write" for n in stale]
            return VerifyReport(ok=not problems, active_version=active, problems=problems, warnings=warnings)


def _number(version_id: str) -> int:
    return int(version_id.lstrip("v") or 0)
