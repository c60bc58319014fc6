"""The one versioning primitive: entries kept forever, one of them active, safe against crashes and
rivals (VT-7).

A :class:`VersionStore` keeps, in its versions directory::

    <prefix>001_20250101T120000123456Z<suffix>        an entry's payload (hook source, model entry
                                                      JSON)
    <prefix>001_20250101T120000123456Z.meta.json      its metadata (sha256, note, kind-specific
                                                      fields)
    manifest.json                                     index of all entries and which one is active
    history.jsonl                                     append-only: when each entry was saved and
                                                      activated
    .lock                                             serialises writers; names the one holding it

and one *active file* outside it (``generated_prompt_hook.py``, ``promoted.json``)
whose content is the active entry's payload. Every file is written atomically
(temp file + fsync + rename). The active file is the source of truth for "which
entry is active": it is matched to an entry by sha256, so a crash between writes
never leaves a wrong answer, and a reader of the active file alone (the runtime)
always sees a whole payload. A missing or damaged manifest is rebuilt from the
entry and metadata files with a warning (in memory by readers, on disk by the
next writer); nothing is lost, and nothing found without our metadata is trusted.

Hook versions (:mod:`vectortrainer.hooks.versions`) and the model registry
(:mod:`vectortrainer.registry.models`) are this store with their own names,
error type and fields.
"""

from __future__ import annotations

import difflib
import errno
import hashlib
import json
import logging
import os
import re
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from vectortrainer.errors import VectorTrainerError
from vectortrainer.files import atomic_write_text, sha256_file, sha256_text
from vectortrainer.json_types import JSONObject, JSONValue
from vectortrainer.registry.layout import MANIFEST_NAME
from vectortrainer.registry.lock import LOCK_NAME, StoreLock

logger = logging.getLogger(__name__)

HISTORY_NAME = "history.jsonl"
BASE_KEYS = ("version_id", "timestamp", "sha256", "file", "note")
# an entry adopted without metadata we wrote; never restored or diffed
UNVERIFIED_FIELD = "unverified"
# how long a writer (or reader) waits for another writer before saying who holds the lock
LOCK_WAIT_S = 10.0
GATE_FIELD = "gate"  # an entry a gate refused carries {"passed": False, ...}; "previous" skips it
# History actions that change what is live (a save that activates records "activate" too).
LIVE_ACTIONS = ("activate", "promote", "rollback", "deactivate")


@dataclass
class Entry:
    """One saved entry: where its payload is, its checksum, and what its kind records about it
    (``fields``)."""

    version_id: str
    timestamp: str
    sha256: str
    file: str
    note: str = ""
    fields: JSONObject = field(default_factory=dict)
    active: bool = False

    @property
    def refused(self) -> bool:
        """Whether a gate refused it when it was saved (a rollback to "the previous one" passes it
        over)."""
        gate = self.fields.get(GATE_FIELD)
        return isinstance(gate, Mapping) and gate.get("passed") is False

    @property
    def unverified(self) -> bool:
        """Found without the metadata this store writes: its checksum was computed from the file as
        found."""
        return self.fields.get(UNVERIFIED_FIELD) is True

    def meta(self) -> JSONObject:
        """What the ``.meta.json`` file holds: the base keys and the fields, flat."""
        return {**self.fields, **{key: getattr(self, key) for key in BASE_KEYS}}

    @classmethod
    def from_meta(cls, data: Mapping[str, JSONValue], required: tuple[str, ...] = ()) -> "Entry":
        """An entry from a metadata or manifest record; ``KeyError``/``TypeError`` when one is
        incomplete."""
        missing = [key for key in (*BASE_KEYS, *required) if key not in data]
        if missing:
            raise KeyError(f"missing {', '.join(missing)}")
        values = {key: data[key] for key in BASE_KEYS}
        if not all(isinstance(values[key], str) for key in BASE_KEYS):
            raise TypeError("version_id, timestamp, sha256, file and note must be strings")
        extra = {k: v for k, v in data.items() if k not in BASE_KEYS and k != "active"}
        return cls(**values, fields=extra, active=bool(data.get("active", False)))


@dataclass
class VerifyReport:
    """Result of :meth:`VersionStore.verify`."""

    ok: bool
    active_version: str | None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VersionKind:
    """What is kept in a version store: file names, the noun and error in messages, what a
    version's entry must hold, and how a payload is described and checked before it is trusted."""

    prefix: str  # "v001", "m001"
    suffix: str  # ".py", ".json"
    noun: str  # "hook version", "model"
    error: type[VectorTrainerError]
    required_fields: tuple[str, ...] = ()
    describe: Callable[[str], JSONObject] | None = None
    check: Callable[[str], object] | None = None
    # The entry payload inside an active file that may carry more than it (a model's canary
    # block): the active entry is the one whose checksum this text has. None: the file as it is.
    unwrap_active: Callable[[str], str] | None = None


class VersionStore:
    """Entries in ``versions_dir``, the active one's payload in ``active_path``; see the module
    docstring.

    ``noun`` names an entry in messages ("hook version", "model"); ``error`` is the
    :class:`~vectortrainer.errors.VectorTrainerError` subclass raised for unknown,
    missing or damaged entries; ``required_fields`` are metadata keys an entry's
    kind needs, and ``describe(payload)`` recomputes them when a metadata file is lost.
    ``check(payload)`` raises when a payload is not one of this kind's (a valid
    generated hook, a model entry): an entry file found without its metadata is
    adopted only when it passes, and then only as *unverified*.

    Nothing is trusted that this store did not write: names are confined to the
    versions folder (``<prefix>NNN_<timestamp><suffix>``, no separators), symbolic
    links are refused, and an adopted entry's checksum (computed from the file as
    found) proves nothing, so it cannot be restored or diffed and fails ``verify``.
    Reading (``entries``, ``read``, ``diff``, ``verify``, ``history``) changes no
    file; a rebuilt manifest is written by the next writer.
    """

    def __init__(
        self,
        versions_dir: str | os.PathLike[str],
        active_path: str | os.PathLike[str],
        kind: VersionKind,
        *,
        lock_timeout_s: float | None = None,
    ) -> None:
        self.versions_dir = Path(versions_dir)
        self.active_path = Path(active_path)
        self.manifest_path = self.versions_dir / MANIFEST_NAME
        self.history_path = self.versions_dir / HISTORY_NAME
        prefix, suffix = kind.prefix, kind.suffix
        self.prefix, self.suffix, self.noun, self.error = prefix, suffix, kind.noun, kind.error
        self.required_fields = kind.required_fields
        self.describe = kind.describe or (lambda payload: {})
        self.check = kind.check
        self.unwrap_active = kind.unwrap_active
        self.warnings: list[str] = []
        # files seen but not trusted (symbolic links, planted files): verify's problems
        self.refused: list[str] = []
        self._file_pattern = re.compile(
            rf"^({re.escape(prefix)}\d{{3,}})_(\d{{8}}T\d{{6}}\d*Z){re.escape(suffix)}$"
        )
        self._lock_timeout_s = lock_timeout_s

    @property
    def _lock(self) -> StoreLock:
        timeout = LOCK_WAIT_S if self._lock_timeout_s is None else self._lock_timeout_s
        return StoreLock(
            self.versions_dir / LOCK_NAME,
            timeout_s=timeout,
            what=f"{self.versions_dir} ({self.noun}s)",
        )

    # -- reading files we trust -----------------------------------------------
    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        logger.warning(message)

    def _refuse(self, message: str) -> None:
        self.refused.append(message)
        self._warn(message)

    def _entry_files(self) -> list[re.Match[str]]:
        """Entry files by name; symbolic links (and anything not a regular file) are refused."""
        if not self.versions_dir.is_dir():
            return []
        matches = []
        for name in sorted(os.listdir(self.versions_dir)):
            match = self._file_pattern.match(name)
            if not match:
                continue
            mode = os.lstat(self.versions_dir / name).st_mode
            if stat.S_ISLNK(mode):
                self._refuse(
                    f"{name}: a symbolic link in the {self.noun} "
                    "folder; refused, never followed (remove it)"
                )
            elif not stat.S_ISREG(mode):
                self._refuse(f"{name}: not a regular file; refused (remove it)")
            else:
                matches.append(match)
        return matches

    def _confined(self, entry: Entry) -> Path:
        """The entry's file inside the versions folder; a name that could point elsewhere raises
        ``error``."""
        match = self._file_pattern.match(entry.file) if isinstance(entry.file, str) else None
        if match is None or match.group(1) != entry.version_id:
            raise self.error(
                f"{self.noun} {entry.version_id}: file name "
                f"{entry.file!r} is not one this store writes (it must be "
                f"{self.prefix}NNN_<timestamp>{self.suffix} inside {self.versions_dir}); refused"
            )
        return self.versions_dir / entry.file

    def _read_bytes(self, path: Path) -> bytes:
        """A regular file's bytes, never through a symbolic link (``OSError`` otherwise)."""
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(path, flags)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a regular file", str(path))
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    # -- manifest -----------------------------------------------------------
    def _read_manifest(self, *, repair: bool = False) -> list[Entry]:
        """The entries: the manifest's, plus entry files it does not list; rebuilt when it is
        missing or damaged.

        With ``repair`` (writers, under the lock) a rebuilt or completed manifest is
        written back; readers keep it in memory and change nothing.
        """
        self.refused = []
        files = self._entry_files()
        try:
            data = json.loads(self._read_bytes(self.manifest_path).decode("utf-8"))
            entries = [Entry.from_meta(record, self.required_fields) for record in data["versions"]]
            for entry in entries:
                self._confined(entry)
        except FileNotFoundError:
            if not files:
                return []
            self._warn(f"{self.manifest_path}: missing; rebuilt from the {self.noun} files")
            entries = []
        except (OSError, ValueError, KeyError, TypeError, VectorTrainerError) as exc:
            reason = (
                exc.strerror
                if isinstance(exc, OSError) and exc.strerror
                else str(exc).split(";")[0]
            )
            self._warn(
                f"{self.manifest_path}: damaged ({reason}); rebuilt from the {self.noun} files"
            )
            entries = []
        known = {e.version_id for e in entries}
        extra = [m for m in files if m.group(1) not in known]
        if extra and known:
            self._warn(
                f"{self.manifest_path}: {len(extra)} {self.noun} "
                "file(s) it does not list; read from the files"
            )
        for match in extra:
            found = self._entry_from_file(match)
            if found is not None:
                entries.append(found)
                known.add(found.version_id)
        entries.sort(key=lambda e: _number(e.version_id))
        if repair and (extra or not self.manifest_path.is_file()):
            self._write_manifest(entries)
        return entries

    def _entry_from_file(self, match: re.Match[str]) -> Entry | None:
        """An entry file the manifest does not list: from its metadata, else adopted unverified when
        it is valid."""
        name = match.group(0)
        path = self.versions_dir / name
        entry = self._read_meta(path)
        if entry is not None and entry.file == name and entry.version_id == match.group(1):
            return entry
        try:
            payload = self._read_bytes(path).decode("utf-8")
            if self.check is not None:
                self.check(payload)
        except (OSError, UnicodeDecodeError, ValueError, VectorTrainerError) as exc:
            reason = (
                "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc).split(";")[0]
            )
            self._refuse(
                f"{name}: no metadata, and not a valid {self.noun} ({reason}); ignored (remove it)"
            )
            return None
        self._warn(
            f"{name}: no metadata; listed as unverified (its "
            "checksum is computed from the file as found)"
        )
        fields = {**dict(self.describe(payload)), UNVERIFIED_FIELD: True}
        return Entry(
            version_id=match.group(1),
            timestamp=match.group(2),
            sha256=sha256_text(payload),
            file=name,
            fields=fields,
        )

    def _read_meta(self, entry_file: Path) -> Entry | None:
        meta_path = entry_file.with_name(entry_file.name[: -len(self.suffix)] + ".meta.json")
        try:
            entry = Entry.from_meta(
                json.loads(self._read_bytes(meta_path).decode("utf-8")), self.required_fields
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return None if entry.unverified else entry

    def _write_manifest(self, entries: list[Entry], preferred: str | None = None) -> None:
        active = self._active_id(entries, preferred)
        for entry in entries:
            entry.active = entry.version_id == active
        document = {
            "format": 1,
            "active": active,
            "versions": [{**e.meta(), "active": e.active} for e in entries],
        }
        atomic_write_text(self.manifest_path, json.dumps(document, indent=2, sort_keys=True) + "\n")

    def _active_id(self, entries: list[Entry], preferred: str | None = None) -> str | None:
        """The entry whose checksum the active file has.

        Several entries can hold the same payload; then the one the manifest (or the
        caller) names wins, else the newest.
        """
        try:
            digest = self._active_digest()
        except FileNotFoundError:
            return None
        matching = [e.version_id for e in entries if e.sha256 == digest]
        if preferred is None:
            preferred = next((e.version_id for e in entries if e.active), None)
        if preferred in matching:
            return preferred
        return matching[-1] if matching else None

    def _active_digest(self) -> str:
        """The checksum the active entry's payload has: the active file's, or that of the payload
        inside it (``unwrap_active``); ``FileNotFoundError`` when there is no active file."""
        if self.unwrap_active is None:
            return sha256_file(self.active_path)
        try:
            data = self._read_bytes(self.active_path)
        except FileNotFoundError:
            raise
        except OSError:  # a link or a special file: judged as before (it matches no entry we wrote)
            return sha256_file(self.active_path)
        try:
            return sha256_text(self.unwrap_active(data.decode("utf-8")))
        except (UnicodeDecodeError, ValueError):
            # not what our writer wraps: judged as it is, as every other active file
            return hashlib.sha256(data).hexdigest()

    def _record(self, action: str, version_id: str) -> None:
        """One line of ``history.jsonl``; a torn last line (a crash mid-append) is skipped by the
        reader."""
        line = json.dumps({"at": time.time(), "action": action, "version_id": version_id})
        with self.history_path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    # -- public API -----------------------------------------------------------
    def save(self, payload: str, fields: Mapping[str, JSONValue] | None = None, note: str = "", *,
             activate: bool = True) -> Entry:
        """Save ``payload`` as a new entry (and make it the active one); returns the entry."""
        with self._lock.exclusive():
            self.warnings = []
            entries = self._read_manifest(repair=True)
            names = [
                m.group(1)
                for m in map(self._file_pattern.match, os.listdir(self.versions_dir))
                if m
            ]
            numbers = [_number(e.version_id) for e in entries] + [_number(n) for n in names]
            version_id = f"{self.prefix}{max(numbers, default=0) + 1:03d}"
            timestamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            name = f"{version_id}_{timestamp}{self.suffix}"
            fields = {k: v for k, v in dict(fields or {}).items() if k != UNVERIFIED_FIELD}
            entry = Entry(version_id, timestamp, sha256_text(payload), name, note, fields)
            # Order matters for crash safety: entry file, its metadata, the active file, the index.
            atomic_write_text(self.versions_dir / name, payload)
            meta_path = self.versions_dir / f"{version_id}_{timestamp}.meta.json"
            atomic_write_text(meta_path, json.dumps(entry.meta(), indent=2, sort_keys=True) + "\n")
            if activate:
                atomic_write_text(self.active_path, payload)
            entries.append(entry)
            self._write_manifest(entries, version_id if activate else None)
            self._record("save", version_id)
            if activate:
                self._record("activate", version_id)
            return entry

    def entries(self) -> list[Entry]:
        """All entries, oldest first, with the active flag (none, and nothing created or changed,
        ever)."""
        if not self.versions_dir.is_dir():
            return []
        with self._lock.shared():
            self.warnings = []
            entries = self._read_manifest()
            active = self._active_id(entries)
            for entry in entries:
                entry.active = entry.version_id == active
            return entries

    def active(self) -> Entry | None:
        return next((e for e in self.entries() if e.active), None)

    def find(self, entries: list[Entry], version_id: str) -> Entry:
        for entry in entries:
            if entry.version_id == version_id:
                return entry
        known = ", ".join(e.version_id for e in entries) or "none"
        raise self.error(f"no {self.noun} {version_id!r} in {self.versions_dir} (known: {known})")

    def read(self, version_id: str) -> str:
        """The payload of an entry, after checking its checksum."""
        if not self.versions_dir.is_dir():
            raise self.error(f"no {self.noun}s in {self.versions_dir}")
        with self._lock.shared():
            self.warnings = []
            return self.checked_payload(self.find(self._read_manifest(), version_id))

    def checked_payload(self, entry: Entry) -> str:
        """The entry's payload from its own file in the versions folder, if its checksum is one we
        wrote."""
        path = self._confined(entry)
        if entry.unverified:
            raise self.error(
                f"{self.noun} {entry.version_id} is unverified: {path.name} was found without "
                "the metadata vectortrainer writes, so its checksum proves nothing; refusing "
                f"to use it (read it, then save it again as a new {self.noun}, or remove it)"
            )
        try:
            data = self._read_bytes(path)
        except FileNotFoundError:
            raise self.error(
                f"{self.noun} {entry.version_id}: file {path.name} is missing"
            ) from None
        except OSError:
            raise self.error(
                f"{self.noun} {entry.version_id}: {path.name} is a symbolic link or not a "
                f"regular file; refusing to follow it, the active {self.noun} was left as it was"
            ) from None
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            raise self.error(
                f"{self.noun} {entry.version_id} failed its checksum ({path.name} changed after "
                f"it was saved); refusing to use it, the active {self.noun} was left as it was"
            )
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error(
                f"{self.noun} {entry.version_id}: {path.name} is not UTF-8 text"
            ) from None

    def previous(self, entries: list[Entry], active: str | None) -> Entry:
        """What a rollback with no version returns to: what was live just before (VT-18).

        Read from the history: the newest entry that was live before the current one, never
        one that was rolled back from (a person rejected it), one a gate refused or one found
        without our metadata. A store without history falls back to the newest usable entry
        saved before ``active``.
        """
        usable = {e.version_id for e in entries if not e.refused and not e.unverified}
        live, rejected = self.live_sequence()
        for version_id in reversed(live[:-1] if live and live[-1] == active else live):
            if version_id is not None and version_id != active and version_id in usable \
                    and version_id not in rejected:
                return self.find(entries, version_id)
        if live:
            raise self.error(
                f"{active or 'no ' + self.noun} is the oldest live {self.noun} that was not "
                f"rolled back from; there is nothing to roll back to (name the {self.noun} to "
                "make active)"
            )
        ids = [e.version_id for e in entries]
        earlier = entries[: ids.index(active)] if active in ids else entries
        candidates = [e for e in earlier if e.version_id in usable]
        if not candidates:
            raise self.error(
                f"{active} is the oldest {self.noun} that passed "
                "its gate; there is nothing to roll back to"
            )
        return candidates[-1]

    def live_sequence(self) -> tuple[list[str | None], set[str]]:
        """What was live, in order (None: nothing was, after a deactivation), and the entries a
        rollback moved away from (switching off rejects nothing: a rollback brings it back)."""
        live: list[str | None] = []
        rejected: set[str] = set()
        for record in self.history():
            action, version_id = record.get("action"), str(record.get("version_id"))
            if action in LIVE_ACTIONS:
                if action == "rollback" and live and live[-1] is not None:
                    rejected.add(live[-1])
                live.append(None if action == "deactivate" else version_id)
        return live, rejected

    def states(self, entries: list[Entry]) -> dict[str, str]:
        """Each entry's state in words: active, switched off (live until the function was set to
        run without one), unverified, refused by its gate, rolled back from, superseded (it was
        live, a newer one replaced it), or never live."""
        live, rejected = self.live_sequence()
        ever_live = {v for v in live if v is not None}
        off = live[-2] if len(live) >= 2 and live[-1] is None else None
        states = {}
        for entry in entries:
            if entry.active:
                states[entry.version_id] = "active"
            elif entry.version_id == off:
                states[entry.version_id] = "switched off"
            elif entry.unverified:
                states[entry.version_id] = "unverified (found without its metadata)"
            elif entry.refused:
                states[entry.version_id] = "refused by its gate"
            elif entry.version_id in rejected:
                states[entry.version_id] = "rolled back from"
            elif entry.version_id in ever_live:
                states[entry.version_id] = "superseded"
            else:
                states[entry.version_id] = "never live"
        return states

    def deactivate(self) -> Entry | None:
        """Run with no active entry (the active file removed); returns the entry that was active.

        A rollback with no version then returns to it.
        """
        with self._lock.exclusive():
            self.warnings = []
            entries = self._read_manifest(repair=True)
            active = self._active_id(entries)
            if active is None and not self.active_path.exists():
                raise self.error(f"no active {self.noun} in {self.versions_dir.parent}")
            if self.active_path.is_symlink() or self.active_path.exists():
                self.active_path.unlink()
            self._write_manifest(entries)
            self._record("deactivate", active or "")
            return next((e for e in entries if e.version_id == active), None)

    def activate(
        self,
        version_id: str | None = None,
        *,
        validate: Callable[[Entry, str], None] | None = None,
        action: str = "rollback",
    ) -> Entry:
        """Make ``version_id`` (or the one before the active one) the active entry, at once.

        The checksum is verified and ``validate(entry, payload)`` runs first (it raises
        to refuse); on any failure the active file is left exactly as it was. With no
        active entry, "the one before" is the newest entry.
        """
        with self._lock.exclusive():
            self.warnings = []
            entries = self._read_manifest(repair=True)
            if not entries:
                raise self.error(f"no {self.noun}s in {self.versions_dir}")
            if version_id is None:
                active = self._active_id(entries)
                trusted = [e for e in entries if not e.unverified]
                if active is None and not trusted:
                    raise self.error(f"no verified {self.noun}s in {self.versions_dir}")
                target = self.previous(entries, active)
            else:
                target = self.find(entries, version_id)
            payload = self.checked_payload(target)
            if validate is not None:
                validate(target, payload)
            atomic_write_text(self.active_path, payload)
            self._write_manifest(entries, target.version_id)
            self._record(action, target.version_id)
            target.active = True
            return target

    def annotate(
        self,
        version_id: str,
        fields: Mapping[str, JSONValue],
        *,
        action: str,
        active: Callable[[Entry, str, tuple[Entry, str] | None], str] | None = None,
        validate: Callable[[Entry, str], None] | None = None,
    ) -> Entry:
        """Record ``fields`` on entry ``version_id`` (its metadata and the manifest), and with
        ``active`` rewrite the active file as ``active(target, target's payload, (active entry,
        its payload) or None)`` returns it, all under one lock; ``action`` goes to the history.

        ``validate(target, payload)`` runs first and raises to refuse: then nothing changes. The
        text ``active`` returns must hold an entry's payload (the target's, or the active one's
        wrapped: see ``unwrap_active``); the entry whose checksum it holds is active afterwards.
        """
        if any(key in BASE_KEYS or key == "active" for key in fields):
            raise ValueError(f"{', '.join(BASE_KEYS)} and active are not annotations")
        with self._lock.exclusive():
            self.warnings = []
            entries = self._read_manifest(repair=True)
            target = self.find(entries, version_id)
            payload = self.checked_payload(target)
            if validate is not None:
                validate(target, payload)
            preferred = self._active_id(entries)
            if active is not None:
                current = None
                if preferred is not None:
                    live = self.find(entries, preferred)
                    current = (live, self.checked_payload(live))
                atomic_write_text(self.active_path, active(target, payload, current))
                preferred = self._active_id(entries, target.version_id)
            target.fields = {**target.fields, **dict(fields)}
            meta_path = self.versions_dir / (target.file[: -len(self.suffix)] + ".meta.json")
            atomic_write_text(meta_path, json.dumps(target.meta(), indent=2, sort_keys=True) + "\n")
            self._write_manifest(entries, preferred)
            self._record(action, target.version_id)
            return target

    def active_payload(self) -> tuple[Entry, str] | None:
        """The active entry and its payload, checksum verified (None: no entry is active)."""
        if not self.versions_dir.is_dir():
            return None
        with self._lock.shared():
            self.warnings = []
            entries = self._read_manifest()
            active = self._active_id(entries)
            if active is None:
                return None
            entry = self.find(entries, active)
            return entry, self.checked_payload(entry)

    def active_text(self) -> str | None:
        """The active file as it is now (None: there is none); read without following a link."""
        try:
            return self._read_bytes(self.active_path).decode("utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError):
            raise self.error(
                f"{self.active_path}: a symbolic link, not a regular file, or not UTF-8 text"
            ) from None

    def history(self) -> list[JSONObject]:
        """Every save, promotion and rollback, oldest first (lines that do not parse are
        skipped)."""
        try:
            lines = (
                self._read_bytes(self.history_path).decode("utf-8", errors="replace").splitlines()
            )
        except FileNotFoundError:
            return []
        except OSError:
            self._warn(f"{self.history_path}: a symbolic link or not a regular file; not read")
            return []
        records = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("version_id"), str):
                records.append(record)
        return records

    def diff(self, a: str, b: str) -> str:
        """Unified diff of two entries' payloads (checksums verified)."""
        if not self.versions_dir.is_dir():
            raise self.error(f"no {self.noun}s in {self.versions_dir}")
        with self._lock.shared():
            self.warnings = []
            entries = self._read_manifest()
            first, second = self.find(entries, a), self.find(entries, b)
            left, right = self.checked_payload(first), self.checked_payload(second)
        return "".join(
            difflib.unified_diff(
                left.splitlines(keepends=True),
                right.splitlines(keepends=True),
                fromfile=first.file,
                tofile=second.file,
            )
        )

    def verify(self) -> VerifyReport:
        """Check every entry's checksum and whether the active file is a known entry (changes
        nothing)."""
        if not self.versions_dir.is_dir():
            return VerifyReport(ok=True, active_version=None)
        with self._lock.shared():
            self.warnings = []
            entries = self._read_manifest()
            problems = list(self.refused)
            for entry in entries:
                try:
                    self.checked_payload(entry)
                except self.error as exc:
                    problems.append(str(exc).split(";")[0])
            active = self._active_id(entries)
            if self.active_path.exists() and active is None:
                problems.append(
                    f"{self.active_path.name} matches no saved {self.noun} (edited by hand?)"
                )
            stale = [n for n in os.listdir(self.versions_dir) if n.endswith(".tmp")]
            warnings = [w for w in self.warnings if w not in self.refused]
            warnings += [f"{n}: leftover temp file of an interrupted write" for n in stale]
            return VerifyReport(
                ok=not problems, active_version=active, problems=problems, warnings=warnings
            )


def _number(version_id: str) -> int:
    digits = re.sub(r"^\D+", "", version_id)
    return int(digits or 0)
