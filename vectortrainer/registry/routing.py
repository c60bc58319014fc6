"""Which arm of a canary serves a call: a hash of the call's inputs, the same in the user's process
and in the loop (issue 26).

The runtime (:func:`vectortrainer.runtime.promoted_model`) routes a call with the arguments of
the function that asked for the model; the loop recomputes the arm of each logged call from the
inputs VectorWave captured for it. Both reach the same arm because the inputs are first put in
the form VectorWave logs them (:func:`logged_form`: what ``@vectorize(capture_inputs=True)``
does through its ``mask_and_serialize`` and the Lite store's JSON), then written as one
canonical JSON text (:func:`canonical_inputs`), hashed with the candidate's version id
(:func:`route_fraction`): a call whose fraction is under the share goes to the candidate.
Salting with the version id gives each canary its own share of inputs, so no input is always
the one a new model is tried on.

Standard library only: :mod:`vectortrainer.runtime` imports it in production processes.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

CANARY_KEY = "canary"  # the block promoted.json carries while a candidate is in canary
Arm = Literal["candidate", "incumbent"]
CANDIDATE: Arm = "candidate"
INCUMBENT: Arm = "incumbent"

# What VectorWave masks when no setting says otherwise (its SENSITIVE_FIELD_NAMES default), and
# the text it logs in place of a masked value or one that cannot be turned into text.
DEFAULT_SENSITIVE = frozenset({"password", "api_key", "token", "secret", "auth_token"})
SENSITIVE_ENV = "SENSITIVE_FIELD_NAMES"
MASKED = "[MASKED]"
UNSERIALISABLE = "[SERIALIZATION_ERROR]"
# Properties VectorWave writes about a call itself: an argument of one of these names is not
# read back as an input (the log source's VECTORWAVE_PROPERTIES; a test keeps the two equal).
CALL_PROPERTIES = frozenset(
    {
        "trace_id", "span_id", "parent_span_id", "function_name", "timestamp_utc",
        "duration_ms", "status", "error_message", "error_code", "return_value",
        "exec_source", "function_uuid", "team", "priority", "run_id",
    }
)
_HASH_DOMAIN = b"vectortrainer-canary/1\0"
_MAX_DEPTH = 64  # deeper values are logged as text: no recursion limit reached in a user's call


def sensitive_keys() -> frozenset[str]:
    """The argument and key names VectorWave masks in this process: its loaded settings when it
    is imported (production: ``@vectorize`` imported it), else ``SENSITIVE_FIELD_NAMES``, else
    its default. Read when a canary is loaded, never per call."""
    settings_module = sys.modules.get("vectorwave.models.db_config")
    getter = getattr(settings_module, "get_weaviate_settings", None)
    if getter is not None:
        try:
            keys = getter().sensitive_keys
            if isinstance(keys, (set, frozenset)):
                return frozenset(str(key).lower() for key in keys)
        except Exception:  # VectorWave's settings unreadable: the documented default applies
            pass
    named = os.environ.get(SENSITIVE_ENV)
    if named is None:
        return DEFAULT_SENSITIVE
    return frozenset(key.strip().lower() for key in named.split(",") if key.strip())


def logged_form(value: Any, sensitive: frozenset[str] = frozenset(), depth: int = 0) -> Any:
    """``value`` as VectorWave logs a captured argument and the Lite store reads it back.

    Text, numbers, booleans and None stay; lists stay lists; a dict's values under a sensitive
    key (any case) become ``"[MASKED]"`` and its keys become text the way JSON writes them;
    anything else (a tuple, a set, a date, an object) is logged as ``str(value)``. A logged
    value is its own logged form, so the loop can apply it to what it reads as well.
    """
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if depth >= _MAX_DEPTH:
        return _as_text(value)
    if isinstance(value, list):
        return [logged_form(item, sensitive, depth + 1) for item in value]
    if isinstance(value, dict):
        logged: dict[str, Any] = {}
        for key, item in value.items():
            masked = isinstance(key, str) and key.lower() in sensitive
            logged[_json_key(key)] = MASKED if masked else logged_form(item, sensitive, depth + 1)
        return logged
    return _as_text(value)


def _as_text(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return UNSERIALISABLE


def _json_key(key: Any) -> str:
    """A dict key as JSON writes it (``True`` -> ``"true"``, ``1.5`` -> ``"1.5"``)."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return str(next(iter(json.loads(json.dumps({key: 0}, allow_nan=True)))))
    return _as_text(key)


def canonical_inputs(
    inputs: Mapping[str, Any], sensitive: frozenset[str] = frozenset()
) -> bytes:
    """One byte string per call's inputs: their logged form as sorted, compact JSON.

    An argument named like a sensitive key is masked whole, as VectorWave masks it; arguments
    named like VectorWave's own properties are left out, as the log source leaves them out.
    """
    logged = {
        name: MASKED if name.lower() in sensitive else logged_form(value, sensitive)
        for name, value in inputs.items()
        if isinstance(name, str) and name not in CALL_PROPERTIES
    }
    text = json.dumps(logged, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=True, default=_as_text)
    return text.encode("utf-8", "surrogatepass")


def route_fraction(
    version_id: str, inputs: Mapping[str, Any], sensitive: frozenset[str] = frozenset()
) -> float:
    """Where a call's inputs fall in [0, 1) for the canary of ``version_id``: the first 8 bytes of
    a SHA-256 of the canonical inputs, salted with the version id."""
    digest = hashlib.sha256(
        _HASH_DOMAIN + version_id.encode("utf-8", "surrogatepass") + b"\0"
        + canonical_inputs(inputs, sensitive)
    ).digest()
    return int.from_bytes(digest[:8], "big") / float(1 << 64)


def arm_of(
    version_id: str, share: float, inputs: Mapping[str, Any],
    sensitive: frozenset[str] = frozenset(),
) -> Arm:
    """``"candidate"`` when the call's fraction is under ``share``, else ``"incumbent"``."""
    return CANDIDATE if route_fraction(version_id, inputs, sensitive) < share else INCUMBENT


@dataclass(frozen=True)
class CanaryRoute:
    """What promoted.json's ``canary`` block says: the candidate, the share of calls it serves,
    since when, and the incumbent it is measured against (the entry's own ``model``)."""

    version_id: str
    model: str  # what a call of the candidate arm names (its model id, deployment or adapter)
    share: float
    started_at: str  # ISO 8601, UTC
    incumbent_version: str | None = None

    def to_block(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "model": self.model,
            "share": self.share,
            "started_at": self.started_at,
            "incumbent_version": self.incumbent_version,
        }

    @classmethod
    def from_block(cls, block: Any) -> CanaryRoute:
        """The block as written by the registry; ``ValueError`` naming what is wrong otherwise."""
        if not isinstance(block, Mapping):
            raise ValueError("the canary block is not an object")
        version_id, model = block.get("version_id"), block.get("model")
        share, started = block.get("share"), block.get("started_at")
        incumbent = block.get("incumbent_version")
        if not isinstance(version_id, str) or not version_id:
            raise ValueError("the canary names no version_id")
        if not isinstance(model, str) or not model.strip() or not model.isprintable():
            raise ValueError("the canary names no usable model")
        if isinstance(share, bool) or not isinstance(share, (int, float)) \
                or not 0.0 < float(share) <= 1.0:
            raise ValueError(f"the canary's share must be in (0, 1], got {share!r}")
        if not isinstance(started, str):
            raise ValueError("the canary has no started_at")
        if incumbent is not None and not isinstance(incumbent, str):
            raise ValueError("the canary's incumbent_version is not text")
        return cls(version_id, model, float(share), started, incumbent)
