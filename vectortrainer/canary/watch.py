"""One look at a function's canary, as each loop cycle takes it: the signals since it began, the
verdict, and the registry change the verdict makes (a full promotion or a rollback, recorded with
its figures and ``decided_by: "loop"``). A function without a canary costs one small file read.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from vectortrainer.canary.decision import CanaryVerdict, decide
from vectortrainer.canary.release import release_deployment
from vectortrainer.canary.signals import Similarity, canary_signals, parse_time
from vectortrainer.config import Config
from vectortrainer.errors import ModelRegistryError, StoreError, VectorTrainerError
from vectortrainer.feedback.semantic import shared_scorer
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.gate.promotion import entry_refusal
from vectortrainer.json_types import JSONObject
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.registry.routing import CanaryRoute
from vectortrainer.rules.learning import pairs_for_function
from vectortrainer.store.records import FunctionLogs
from vectortrainer.store.source import LogReader

CheckAction = Literal["wait", "promote", "rollback", "expire", "problem"]
DECIDED = ("promote", "rollback", "expire")


@dataclass(frozen=True)
class CanaryCheck:
    """What one look at a canary found and did."""

    function: str
    version_id: str
    action: CheckAction
    reason: str
    checked_at: float
    share: float = 0.0
    started_at: str = ""
    incumbent_version: str | None = None
    figures: JSONObject = field(default_factory=dict)

    @property
    def decided(self) -> bool:
        """Whether this look ended the canary (promoted fully, rolled back or expired)."""
        return self.action in DECIDED

    @property
    def running(self) -> bool:
        return not self.decided

    @property
    def message(self) -> str:
        done = {"promote": "promoted fully by the loop", "rollback": "rolled back by the loop",
                "expire": "rolled back by the loop (expired)"}
        if self.action in done:
            return f"canary {self.version_id} of {self.function} {done[self.action]}: {self.reason}"
        if self.action == "problem":
            return f"canary {self.version_id} of {self.function} not judged: {self.reason}"
        return f"canary of {self.function}: {self.reason}"

    def to_dict(self) -> JSONObject:
        return {"function": self.function, "version_id": self.version_id,
                "action": self.action, "reason": self.reason, "checked_at": self.checked_at,
                "share": self.share, "started_at": self.started_at,
                "incumbent_version": self.incumbent_version, "figures": dict(self.figures)}


def canary_registry(config: Config, function: str) -> ModelRegistry:
    """``function``'s registry as the loop changes it: a promotion past a base model's shutdown
    is refused, as every face's is."""
    return ModelRegistry(config.models.dir, function,
                         refusal=functools.partial(entry_refusal, overrides=config.schedule))


def watch_canary(config: Config, function: str, source: LogReader, *,
                 registry: ModelRegistry | None = None, similarity: Similarity | None = None,
                 now: float | None = None) -> CanaryCheck | None:
    """Look at ``function``'s canary and act on the verdict; None when none is running.

    ``similarity`` scores outputs (default: the shared MiniLM scorer, when ``canary.semantic``).
    A problem (a damaged block, an unreadable store or feedback file) is reported in the
    check, the canary left running; a promotion the registry refuses becomes a rollback.
    """
    registry = registry or canary_registry(config, function)
    moment = time.time() if now is None else now
    try:
        route = registry.canary()
    except ModelRegistryError as exc:
        return CanaryCheck(function, "?", "problem", str(exc), moment)
    if route is None:
        return None
    check = functools.partial(CanaryCheck, function, route.version_id, checked_at=moment,
                              share=route.share, started_at=route.started_at,
                              incumbent_version=route.incumbent_version)
    started = parse_time(route.started_at)
    if started is None:
        return check("problem", f"started_at {route.started_at!r} is not a time")
    if similarity is None and config.canary.semantic:
        similarity = shared_scorer().similarities
    try:
        logs = _logs(source, function)
        pairs = pairs_for_function(FeedbackStore(config.feedback.path).pairs(), function)
        signals = canary_signals(route, logs, pairs, similarity=similarity)
    except (VectorTrainerError, ValueError) as exc:
        return check("problem", str(exc))
    hours = max(0.0, moment - started.timestamp()) / 3600
    verdict = decide(signals, config.canary, hours=hours)
    action, reason = _act(registry, route, verdict)
    if action in ("rollback", "expire"):  # its deployment, if it had one, serves nothing now
        released = release_deployment(config, registry, route.version_id)
        reason = f"{reason}; {released}" if released else reason
    return check(action, reason, figures=verdict.figures)


def _logs(source: LogReader, function: str) -> FunctionLogs:
    """The function's logs; none yet (no call logged at all) is an empty set, not an error."""
    try:
        return source.read_function(function)
    except StoreError:
        if any(summary.name == function for summary in source.list_functions()):
            raise
        return FunctionLogs(function, [], np.zeros((0, 0), np.float32))


def _act(registry: ModelRegistry, route: CanaryRoute, verdict: CanaryVerdict
         ) -> tuple[CheckAction, str]:
    """Make the registry change ``verdict`` says; (what was done, why)."""
    if verdict.action == "wait":
        return "wait", verdict.reason
    if verdict.action == "promote":
        try:
            registry.finish_canary(True, decided_by="loop", reason=verdict.reason,
                                   figures=verdict.figures)
            return "promote", verdict.reason
        except ModelRegistryError as exc:  # refused as a promotion is (a base model shut down)
            reason = f"not worse, but it cannot be promoted: {exc}"
            registry.finish_canary(False, decided_by="loop", reason=reason,
                                   figures=verdict.figures)
            return "rollback", reason
    registry.finish_canary(False, decided_by="loop", reason=verdict.reason,
                           figures=verdict.figures, expired=verdict.action == "expire")
    return ("expire" if verdict.action == "expire" else "rollback"), verdict.reason
