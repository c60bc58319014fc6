"""A model in canary: a candidate its gate passed serves a share of a function's calls beside the
promoted model, until the loop (or a person) promotes it fully or rolls it back (issue 26).

While a canary runs, ``promoted.json`` stays the promoted (incumbent) entry, so a reader that
knows nothing of canaries serves the incumbent, and gains a ``"canary"`` block
(:class:`~vectortrainer.registry.routing.CanaryRoute`: candidate version and model, share,
start). The store matches the file to the incumbent's entry through :func:`unwrap`, which takes
the block off again. The candidate's entry records its canary (:class:`CanaryRecord`, the
``canary`` field): running, then promoted, rolled back, expired or stopped, when, by whom
("loop" or "person"), why, and the figures. Every change is one locked, atomic write of the
version store (:meth:`~vectortrainer.registry.versions.VersionStore.annotate`); the history
says ``canary-start``, ``promote`` (a full promotion: what was live before is what a rollback
returns to), ``canary-rollback`` or ``canary-stop``.

:func:`uses_canary` is the rule a gate applies: a passed model goes into canary when
``canary.share`` is above 0 and a model is promoted to measure it against; otherwise it is
promoted at once, as before.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Literal

from vectortrainer.errors import ModelRegistryError
from vectortrainer.json_types import JSONObject
from vectortrainer.registry.routing import CANARY_KEY, CanaryRoute

if TYPE_CHECKING:
    from vectortrainer.registry.models import ModelEntry, ModelRegistry

CANARY_FIELD = CANARY_KEY  # the candidate entry's field holding its CanaryRecord
RUNNING, PROMOTED, ROLLED_BACK, EXPIRED, STOPPED = (
    "running", "promoted", "rolled_back", "expired", "stopped")
# A record that says running while promoted.json names no canary for it: the promoted model was
# replaced another way (a person's promotion, a run with the gate off). Shown, never written.
ENDED = "ended"
Decider = Literal["loop", "person"]
_ACTIONS = {PROMOTED: "promote", ROLLED_BACK: "canary-rollback", EXPIRED: "canary-rollback",
            STOPPED: "canary-stop"}


def uses_canary(share: float, incumbent: ModelEntry | None) -> bool:
    """Whether a model its gate passed goes into canary (True) or is promoted at once (False).

    A canary needs something to measure the candidate against: with no promoted model the
    function runs its default, which the registry does not know, so the first model is promoted
    at once (its gate compared it with the base model).
    """
    return share > 0 and incumbent is not None


@dataclass(frozen=True)
class CanaryRecord:
    """A candidate's canary as its registry entry keeps it."""

    state: str  # RUNNING, PROMOTED, ROLLED_BACK, EXPIRED, STOPPED (ENDED: see the module)
    share: float
    started_at: str
    incumbent_version: str | None = None
    ended_at: str | None = None
    decided_by: str | None = None  # "loop" or "person"
    reason: str = ""
    figures: JSONObject = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    def to_dict(self) -> JSONObject:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> CanaryRecord | None:
        """The record an entry holds (None for none, or one this code cannot read)."""
        if not isinstance(data, dict) or not isinstance(data.get("state"), str):
            return None
        share = data.get("share")
        figures = data.get("figures")
        return cls(
            state=str(data["state"]),
            share=float(share) if isinstance(share, (int, float)) else 0.0,
            started_at=str(data.get("started_at") or ""),
            incumbent_version=_text_or_none(data.get("incumbent_version")),
            ended_at=_text_or_none(data.get("ended_at")),
            decided_by=_text_or_none(data.get("decided_by")),
            reason=str(data.get("reason") or ""),
            figures=dict(figures) if isinstance(figures, dict) else {},
        )


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def wrap(payload: str, route: CanaryRoute) -> str:
    """The incumbent's entry ``payload`` with the canary block: what promoted.json holds."""
    document = json.loads(payload)
    if not isinstance(document, dict):
        raise ModelRegistryError("the promoted entry is not a JSON object; no canary started")
    document[CANARY_KEY] = route.to_block()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def unwrap(text: str) -> str:
    """The entry payload inside promoted.json: the text itself when it carries no canary block,
    else the entry written again without it, exactly as the registry writes entries (sorted keys,
    indent 2). ``ValueError`` when it is not JSON."""
    document = json.loads(text)
    if not isinstance(document, dict) or CANARY_KEY not in document:
        return text
    del document[CANARY_KEY]
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def route_in(text: str | None, where: str = "promoted.json") -> CanaryRoute | None:
    """The canary promoted.json's ``text`` names (None: none); a damaged block is an error."""
    if text is None:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        raise ModelRegistryError(f"{where} is not JSON; no canary can be read from it") from None
    if not isinstance(document, dict) or CANARY_KEY not in document:
        return None
    try:
        return CanaryRoute.from_block(document[CANARY_KEY])
    except ValueError as exc:
        raise ModelRegistryError(f"{where}: damaged canary block ({exc})") from None


def check_share(share: float) -> float:
    if isinstance(share, bool) or not isinstance(share, (int, float)) \
            or not math.isfinite(share) or not 0 < share <= 1:
        raise ModelRegistryError(f"a canary's share must be a number in (0, 1], got {share!r}")
    return float(share)


def start(registry: ModelRegistry, version_id: str, share: float, *,
          started_at: str | None = None) -> CanaryRoute:
    """Put ``version_id`` into canary at ``share`` beside the promoted model (see the module).

    A canary of another candidate still running is stopped first ("superseded"). Refused (an
    error, nothing changed) with no promoted model, for the promoted model itself, and for a
    model the registry's ``refusal`` gives a reason against (a base model past its shutdown).
    """
    share = check_share(share)
    earlier = registry.canary()
    if earlier is not None and earlier.version_id != version_id:
        finish(registry, STOPPED, decided_by="loop",
               reason=f"superseded: {version_id} went into canary in its place")
    entries = {e.version_id: e for e in registry.list()}
    candidate = entries.get(version_id)
    if candidate is None:
        known = ", ".join(entries) or "none"
        raise ModelRegistryError(f"no model {version_id!r} of {registry.function} (known: {known})")
    incumbent = registry.promoted()
    if incumbent is None:
        raise ModelRegistryError(
            f"no model of {registry.function} is promoted: a canary needs one to measure "
            f"{version_id} against (promote it instead)"
        )
    if incumbent.version_id == version_id:
        raise ModelRegistryError(f"{version_id} is the promoted model already; no canary needed")
    route = CanaryRoute(version_id, candidate.served_as, share, started_at or utc_now(),
                        incumbent.version_id)
    record = CanaryRecord(RUNNING, share, route.started_at, incumbent.version_id)

    def with_block(target: object, payload: str, current: tuple[object, str] | None) -> str:
        if current is None:  # the promoted model changed since it was read: nothing to wrap
            raise ModelRegistryError(f"no model of {registry.function} is promoted now")
        return wrap(current[1], route)

    registry.store.annotate(version_id, {CANARY_FIELD: record.to_dict()}, action="canary-start",
                            active=with_block, validate=registry.check_promotable)
    return route


def finish(registry: ModelRegistry, state: str, *, decided_by: Decider, reason: str,
           figures: JSONObject | None = None) -> CanaryRecord:
    """End the running canary: ``PROMOTED`` makes the candidate the promoted model (checked as a
    promotion is), any other state leaves the incumbent serving every call. Returns the record."""
    if state not in _ACTIONS:
        raise ValueError(f"a canary ends as one of {', '.join(_ACTIONS)}, not {state!r}")
    route = registry.canary()
    if route is None:
        raise ModelRegistryError(f"no canary of {registry.function} is running")
    entry = next((e for e in registry.list() if e.version_id == route.version_id), None)
    earlier = CanaryRecord.from_dict(entry.canary if entry is not None else None)
    record = CanaryRecord(
        state, route.share, route.started_at,
        route.incumbent_version or (earlier.incumbent_version if earlier else None),
        utc_now(), decided_by, reason, dict(figures or {}),
    )

    def promoted(target: object, payload: str, current: tuple[object, str] | None) -> str:
        return payload  # the candidate's own entry: promoted.json without a block

    def incumbent_only(target: object, payload: str, current: tuple[object, str] | None) -> str:
        if current is None:
            raise ModelRegistryError(f"no promoted model of {registry.function} to keep")
        return current[1]  # the incumbent's entry, the block taken off

    registry.store.annotate(
        route.version_id, {CANARY_FIELD: record.to_dict()}, action=_ACTIONS[state],
        active=promoted if state == PROMOTED else incumbent_only,
        validate=registry.check_promotable if state == PROMOTED else None,
    )
    return record


def close_before_change(registry: ModelRegistry, version_id: str | None) -> None:
    """A person promotes or rolls back while a canary runs: the canary ends first, as promoted
    when they chose its candidate, else as stopped, so the record says what happened."""
    route = registry.canary()
    if route is None:
        return
    if version_id == route.version_id:
        finish(registry, PROMOTED, decided_by="person",
               reason="a person promoted the candidate before the canary was decided")
    else:
        finish(registry, STOPPED, decided_by="person",
               reason="a person changed the promoted model while the canary ran")


def settled(record: CanaryRecord | None, version_id: str, route: CanaryRoute | None
            ) -> CanaryRecord | None:
    """``record`` as it stands: a running one promoted.json no longer names has ENDED."""
    if record is None or not record.running:
        return record
    if route is not None and route.version_id == version_id:
        return record
    return CanaryRecord(ENDED, record.share, record.started_at, record.incumbent_version,
                        reason="promoted.json no longer names it (the promoted model was "
                               "replaced while it ran)")
