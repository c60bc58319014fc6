"""A model deployed so that it answers: what a trainer created, and its state (issue 26).

A trainer whose fine-tunes answer only once deployed (Azure OpenAI, Fireworks, Together for a full
fine-tune) creates a :class:`Deployment` for the evaluation gate, named after the run so a
resumed run finds it again instead of paying for a second one. The gate
(:mod:`vectortrainer.gate.serving`) waits for it to be ready, replays the held-out cases through
``served_as`` and tears it down unless the model is promoted.
"""

from __future__ import annotations

import enum
import time
from dataclasses import asdict, dataclass, field

from vectortrainer.json_types import JSONObject

# the key of a registry entry's ``serving`` saying its deployment was torn down: it answers no more
TORN_DOWN = "torn_down"


class DeploymentState(enum.StrEnum):
    PENDING = "pending"  # being created or scaled up: billed on most providers already
    READY = "ready"  # answers requests
    FAILED = "failed"  # will never answer: tear it down
    GONE = "gone"  # deleted (by us, by a person, or by the provider)


@dataclass(frozen=True)
class Deployment:
    """One deployment a trainer created: enough to read its state, call it and tear it down."""

    provider: str
    id: str  # the provider's id of the deployment (what its state and deletion are asked with)
    model: str  # the fine-tuned model it serves
    served_as: str  # what a request names as its ``model`` to reach it
    hourly_usd: float
    created_at: float = field(default_factory=time.time)
    # what else tearing it down needs (a LoRA loaded onto a deployment: its deployed-model id)
    parts: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> JSONObject:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: JSONObject) -> "Deployment":
        parts = data.get("parts")
        return cls(
            provider=str(data["provider"]),
            id=str(data["id"]),
            model=str(data["model"]),
            served_as=str(data["served_as"]),
            hourly_usd=float(data.get("hourly_usd") or 0.0),  # type: ignore[arg-type]
            created_at=float(data.get("created_at") or time.time()),  # type: ignore[arg-type]
            parts={str(k): str(v) for k, v in parts.items()} if isinstance(parts, dict) else {},
        )


@dataclass(frozen=True)
class DeploymentStatus:
    """A deployment's state as its provider answered, and what it said in words."""

    state: DeploymentState
    said: str = ""
