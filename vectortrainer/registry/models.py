"""The model registry: every model trained for a function, its figures, and which one is promoted
(VT-13).

Per function, ``<models_dir>/<function>/`` is a
:class:`~vectortrainer.registry.versions.VersionStore`: ``versions/m001_<time>.json`` holds one
model's entry (provider, model id or adapter path, base model, run id, data hash, evaluation
figures, the gate's decision, when it was made) and ``promoted.json`` is a copy of the promoted
entry, rewritten atomically on promotion and rollback. That one file is what
:func:`vectortrainer.runtime.promoted_model` reads in running processes, so a
rollback reaches them within their reload interval.

A registry may be given a ``refusal`` (what the application layer knows and this layer does
not, such as the providers' shutdown dates): every promotion and rollback asks it first, and
a reason it gives refuses the change, the promoted model left as it was.
"""

from __future__ import annotations

import builtins
import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from vectortrainer.errors import ModelRegistryError
from vectortrainer.json_types import JSONObject
from vectortrainer.registry import canary as canaries
from vectortrainer.registry.layout import (
    MODEL_VERSIONS_DIRNAME,
    PROMOTED_FILENAME,
    function_dirname,
    function_models_dir,
    function_name_of,
)
from vectortrainer.registry.routing import CanaryRoute
from vectortrainer.registry.versions import Entry, VerifyReport, VersionKind, VersionStore

RECORD_KEYS = (
    "function",
    "provider",
    "model",
    "base_model",
    "run_id",
    "data_sha256",
    "evaluation",
    "gate",
    "created_at",
    "base_shutdown",
)


@dataclass
class ModelEntry:
    """One trained model of a function, as the registry keeps it."""

    version_id: str
    function: str
    provider: str
    model: str  # the provider's model id, or a local adapter directory
    base_model: str | None = None
    run_id: str | None = None
    data_sha256: str | None = None
    evaluation: JSONObject = field(default_factory=dict)  # the gate's figures
    gate: JSONObject = field(default_factory=dict)  # {"passed": bool, "reason": str}
    created_at: str = ""
    note: str = ""
    promoted: bool = False
    promoted_at: float | None = None  # the last time it was made the promoted model
    # {"on": "2027-01-14", "source": ...}: the base model's shutdown as its provider reported it
    # when the model was trained (empty: none was reported; the catalogue's date applies)
    base_shutdown: JSONObject = field(default_factory=dict)
    # the deployment that serves it, when its provider serves fine-tunes only once deployed
    # ({"served_as", "id", "hourly_usd", ...}); production calls ``served_as``
    serving: JSONObject = field(default_factory=dict)
    # its canary, when it served a share of calls beside the promoted model (issue 26):
    # a registry.canary.CanaryRecord as a dict (empty: never in canary)
    canary: JSONObject = field(default_factory=dict)

    @property
    def served_as(self) -> str:
        """What a request names to reach this model: its deployment, else the model itself."""
        name = self.serving.get("served_as")
        return name if isinstance(name, str) and name else self.model

    @property
    def passed_gate(self) -> bool | None:
        value = self.gate.get("passed")
        return value if isinstance(value, bool) else None

    def to_dict(self) -> JSONObject:
        return asdict(self)

    @classmethod
    def from_entry(cls, entry: Entry, promoted_at: float | None = None) -> "ModelEntry":
        f = entry.fields
        return cls(
            version_id=entry.version_id,
            function=str(f.get("function") or ""),
            provider=str(f.get("provider") or ""),
            model=str(f.get("model") or ""),
            base_model=f.get("base_model"),
            run_id=f.get("run_id"),
            data_sha256=f.get("data_sha256"),
            evaluation=dict(f.get("evaluation") or {}),
            gate=dict(f.get("gate") or {}),
            created_at=str(f.get("created_at") or ""),
            note=entry.note,
            promoted=entry.active,
            promoted_at=promoted_at,
            base_shutdown=dict(f.get("base_shutdown") or {}),
            serving=dict(f.get("serving") or {}),
            canary=dict(f.get(canaries.CANARY_FIELD) or {}),
        )


@dataclass(frozen=True)
class FigureChange:
    """One evaluation figure of two models side by side (``models diff``)."""

    name: str
    a: float | None
    b: float | None

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


def _describe(payload: str) -> JSONObject:
    try:
        record = json.loads(payload)
    except ValueError:
        return {}
    return {k: record.get(k) for k in RECORD_KEYS} if isinstance(record, dict) else {}


def _names_model(payload: str) -> bool:
    """Whether ``payload`` is a model entry: a JSON object naming a model."""
    try:
        record = json.loads(payload)
    except ValueError:
        return False
    model = record.get("model") if isinstance(record, dict) else None
    return isinstance(model, str) and bool(model)


def _check_entry(entry: Entry, payload: str) -> None:
    if not _names_model(payload):
        raise ModelRegistryError(
            f"model {entry.version_id}: its entry names no model; not promoted"
        )


def _check_payload(payload: str) -> None:
    """A model entry file found without metadata is adopted only when it is an entry (a JSON object
    naming a model)."""
    if not _names_model(payload):
        raise ModelRegistryError("not a model entry (a JSON object with a \"model\")")


MODEL_VERSIONS = VersionKind("m", ".json", "model", ModelRegistryError, ("model",), _describe,
                             _check_payload, unwrap_active=canaries.unwrap)


class ModelRegistry:
    """The models of one function in ``models_dir``; see the module docstring."""

    def __init__(
        self,
        models_dir: str | os.PathLike[str],
        function: str,
        *,
        lock_timeout_s: float | None = None,
        refusal: Callable[[ModelEntry], str] | None = None,
    ) -> None:
        if not function:
            raise ModelRegistryError(
                "the model registry needs a function name (selection.function / --function)"
            )
        self.models_dir = Path(models_dir)
        self.function = function
        self.directory = function_models_dir(models_dir, function)
        self.store = VersionStore(self.directory / MODEL_VERSIONS_DIRNAME,
                                  self.directory / PROMOTED_FILENAME, MODEL_VERSIONS,
                                  lock_timeout_s=lock_timeout_s)
        self.promoted_path = self.store.active_path
        self.refusal = refusal  # why an entry may not be promoted ("" when it may)

    @property
    def warnings(self) -> builtins.list[str]:
        return self.store.warnings

    def register(
        self,
        *,
        provider: str,
        model: str,
        base_model: str | None = None,
        run_id: str | None = None,
        data_sha256: str | None = None,
        evaluation: JSONObject | None = None,
        gate: JSONObject | None = None,
        promote: bool = False,
        note: str = "",
        base_shutdown: JSONObject | None = None,
        serving: JSONObject | None = None,
    ) -> ModelEntry:
        """Keep a trained model (promoted at once when ``promote``: the caller decided, ``refusal``
        is not asked); returns its entry."""
        if not model:
            raise ModelRegistryError("a model entry needs the model's id or adapter path")
        record = {
            "function": self.function,
            "provider": provider,
            "model": model,
            "base_model": base_model,
            "run_id": run_id,
            "data_sha256": data_sha256,
            "evaluation": dict(evaluation or {}),
            "gate": dict(gate or {}),
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **({"base_shutdown": dict(base_shutdown)} if base_shutdown else {}),
            **({"serving": dict(serving)} if serving else {}),
        }
        payload = json.dumps(record, indent=2, sort_keys=True, default=str) + "\n"
        entry = self.store.save(payload, json.loads(payload), note, activate=promote)
        return self._entries_by_id()[entry.version_id]

    def list(self) -> list[ModelEntry]:
        """Every model of the function, oldest first, with the promoted flag and when it was last
        promoted."""
        return list(self._entries_by_id().values())

    def promoted(self) -> ModelEntry | None:
        return next((m for m in self.list() if m.promoted), None)

    def find_run(self, run_id: str) -> ModelEntry | None:
        """The entry a run registered, if any (a resumed run registers its model once)."""
        return next((m for m in self.list() if m.run_id == run_id), None)

    def promote(self, version_id: str) -> ModelEntry:
        """Make ``version_id`` the promoted model now (a person's decision: also one a gate
        refused)."""
        canaries.close_before_change(self, version_id)
        entry = self.store.activate(version_id, validate=self._check, action="promote")
        return self._entries_by_id()[entry.version_id]

    def rollback(self, version_id: str | None = None) -> ModelEntry:
        """Promote ``version_id``, or the model promoted before the current one (gate-refused ones
        passed over)."""
        if version_id is None and self.promoted() is None:
            raise ModelRegistryError(
                f"no model of {self.function} is promoted in {self.directory}; "
                "there is nothing to roll back (promote one with `vectortrainer models promote`)"
            )
        canaries.close_before_change(self, version_id)
        entry = self.store.activate(version_id, validate=self._check, action="rollback")
        return self._entries_by_id()[entry.version_id]

    # -- canary (issue 26): a candidate serving a share of calls beside the promoted model ----
    def start_canary(self, version_id: str, share: float) -> CanaryRoute:
        """Serve ``version_id`` to ``share`` of the calls (the rest keep the promoted model) until
        the canary is finished; see :mod:`vectortrainer.registry.canary`."""
        return canaries.start(self, version_id, share)

    def canary(self) -> CanaryRoute | None:
        """The canary running now, as promoted.json names it (None: none)."""
        return canaries.route_in(self.store.active_text(), str(self.promoted_path))

    def finish_canary(self, promote: bool, *, decided_by: canaries.Decider, reason: str,
                      figures: JSONObject | None = None, expired: bool = False
                      ) -> canaries.CanaryRecord:
        """Promote the candidate fully, or roll it back (``expired``: for want of calls in time);
        ``decided_by`` is "loop" or "person"; the figures are kept in its entry."""
        state = canaries.PROMOTED if promote else canaries.EXPIRED if expired \
            else canaries.ROLLED_BACK
        return canaries.finish(self, state, decided_by=decided_by, reason=reason, figures=figures)

    def stop_canary(self, *, decided_by: canaries.Decider = "person", reason: str = "",
                    figures: JSONObject | None = None) -> canaries.CanaryRecord:
        """Stop the canary now: the promoted model serves every call again."""
        return canaries.finish(self, canaries.STOPPED, decided_by=decided_by,
                               reason=reason or f"stopped by a {decided_by}", figures=figures)

    def check_promotable(self, entry: Entry, payload: str) -> None:
        """Raise unless ``entry`` may be promoted now (what a promotion checks first)."""
        self._check(entry, payload)

    def _check(self, entry: Entry, payload: str) -> None:
        """Refuse to promote an entry that names no model, or one ``refusal`` gives a reason
        against."""
        _check_entry(entry, payload)
        reason = self.refusal(ModelEntry.from_entry(entry)) if self.refusal else ""
        if reason:
            raise ModelRegistryError(
                f"model {entry.version_id} ({entry.fields.get('model')}) of {self.function} was "
                f"not promoted: {reason}; the promoted model was left as it was"
            )

    def diff(self, a: str, b: str) -> builtins.list[FigureChange]:
        """The evaluation figures of two models side by side (every numeric figure either one
        has)."""
        entries = self._entries_by_id()
        first, second = (entries.get(v) for v in (a, b))
        for version_id, entry in ((a, first), (b, second)):
            if entry is None:
                known = ", ".join(entries) or "none"
                raise ModelRegistryError(
                    f"no model {version_id!r} of {self.function} (known: {known})"
                )
        assert first is not None and second is not None  # both checked just above
        left, right = _flat_figures(first.evaluation), _flat_figures(second.evaluation)
        return [
            FigureChange(name, left.get(name), right.get(name))
            for name in sorted(set(left) | set(right))
        ]

    def verify(self) -> VerifyReport:
        return self.store.verify()

    def _entries_by_id(self) -> dict[str, ModelEntry]:
        promoted_at: dict[str, float] = {}
        for record in self.store.history():
            if record.get("action") in ("activate", "promote", "rollback") and isinstance(
                record.get("at"), (int, float)
            ):
                promoted_at[record["version_id"]] = float(record["at"])
        entries = {
            e.version_id: ModelEntry.from_entry(e, promoted_at.get(e.version_id))
            for e in self.store.entries()
        }
        if any(e.canary.get("state") == canaries.RUNNING for e in entries.values()):
            try:
                route = self.canary()
            except ModelRegistryError:
                route = None
            for entry in entries.values():
                settled = canaries.settled(canaries.CanaryRecord.from_dict(entry.canary),
                                           entry.version_id, route)
                if settled is not None:
                    entry.canary = settled.to_dict()
        return entries


def registered_functions(models_dir: str | os.PathLike[str]) -> list[str]:
    """The functions that have a model registry under ``models_dir``, sorted."""
    root = Path(models_dir)
    if not root.is_dir():
        return []
    names = set()
    for folder in root.iterdir():
        if not (folder / MODEL_VERSIONS_DIRNAME).is_dir():
            continue
        name = function_name_of(folder.name)
        if name is None:  # a shortened long name: its entries say whose models they are
            name = _function_in_entries(folder)
        if name is not None:
            names.add(name)
    return sorted(names)


def _function_in_entries(folder: Path) -> str | None:
    """The function the entries in ``folder`` name, when its folder is ``folder`` (None if none
    does)."""
    store = VersionStore(folder / MODEL_VERSIONS_DIRNAME, folder / PROMOTED_FILENAME,
                         MODEL_VERSIONS)
    for entry in store.entries():
        name = entry.fields.get("function")
        if isinstance(name, str) and function_dirname(name) == folder.name:
            return name
    return None


def _flat_figures(evaluation: JSONObject, prefix: str = "") -> dict[str, float]:
    figures: dict[str, float] = {}
    for key, value in evaluation.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            figures.update(_flat_figures(value, f"{name}."))
        elif (
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        ):
            figures[name] = float(value)
    return figures
