"""What is in service for a function, as every face shows it: the promoted model, the active hook,
the gates' last decisions with their figures, and the loop's next trigger (VT-13).

The TUI's hooks screen, the web page's "In service" page and ``vectortrainer models list``
read :func:`service_view` (and :class:`ModelRow`); rolling back either thing is one call of
the workspace (``models.rollback``, ``hooks.rollback``), the same in every face.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vectortrainer.config import Config
from vectortrainer.display import format_gain, format_slice_scores, readable_epoch, readable_time
from vectortrainer.errors import VectorTrainerError
from vectortrainer.gate.promotion import SHUT_DOWN
from vectortrainer.hooks.template import HOOK_FILENAME
from vectortrainer.hooks.versions import VERSIONS_DIRNAME, HookVersion, HookVersionManager
from vectortrainer.json_types import JSONObject
from vectortrainer.loop import LoopView, loop_view, read_state
from vectortrainer.registry.canary import ENDED, CanaryRecord
from vectortrainer.registry.models import ModelEntry, ModelRegistry
from vectortrainer.registry.routing import CanaryRoute
from vectortrainer.store.source import LogReader
from vectortrainer.training.deployments import TORN_DOWN


@dataclass(frozen=True)
class ModelRow:
    """One trained model as a table row."""

    version_id: str
    promoted: bool
    provider: str
    model: str
    run_id: str
    score: str  # "0.912 vs 0.410" (candidate vs what it was judged against)
    gate: str  # "passed" / "refused" / "not enough evidence" / ""
    reason: str
    gain: str = ""  # "+0.502 (95% one-sided bounds +0.448 to +0.551, 20 cases)"
    slices: str = ""  # "steady 0.950/0.400 (12), feedback 0.870/0.440 (8)"
    canary: str = ""  # "in canary (25% of calls)", "rolled back in canary by the loop", ...
    canary_running: bool = False
    # "deployment vt-1a2b (a Standard deployment ...), $1.70/h" / "... torn down" / ""
    serving: str = ""
    hook: str = ""  # "replies judged through hook h003; without it 0.612 vs 0.598" / ""
    served_as: str = ""  # the deployment production calls, when it is not the model id

    @classmethod
    def of(cls, entry: ModelEntry) -> "ModelRow":
        evaluation = entry.evaluation
        candidate = (evaluation.get("candidate") or {}).get("overall")
        incumbent = (evaluation.get("incumbent") or {}).get("overall")
        score = (
            ""
            if candidate is None
            else f"{candidate:.3f}" + ("" if incumbent is None else f" vs {incumbent:.3f}")
        )
        gate = {True: "passed", False: "refused", None: ""}[entry.passed_gate]
        if entry.gate.get("outcome") == "not_enough_evidence":
            gate = "not enough evidence"
        elif entry.gate.get("outcome") == SHUT_DOWN:
            gate = "base model shut down"
        return cls(
            entry.version_id,
            entry.promoted,
            entry.provider,
            entry.model,
            entry.run_id or "",
            score,
            gate,
            str(entry.gate.get("reason") or ""),
            _gain_text(evaluation.get("gain")),
            _slices_text(evaluation),
            *_canary_text(CanaryRecord.from_dict(entry.canary)),
            _serving_text(entry.serving),
            _hook_text(evaluation),
            entry.served_as if entry.served_as != entry.model else "",
        )


def _serving_text(serving: JSONObject) -> str:
    """The deployment that serves an entry, in words (``""``: it answers without one)."""
    if not serving.get("id"):
        return ""
    state = "torn down" if serving.get(TORN_DOWN) else (
        f"up, ${float(serving.get('hourly_usd') or 0):.2f} per hour")
    return f"deployment {serving['id']} (called as {serving.get('served_as')}): {state}"


def _hook_text(evaluation: JSONObject) -> str:
    """Which hook the gate judged the replies through, and the scores without it."""
    version, bare = evaluation.get("hook_version"), evaluation.get("without_hook")
    if not version:
        return ""
    text = f"replies judged through hook {version}, as production returns them"
    if isinstance(bare, dict) and bare.get("candidate") is not None:
        text += f"; without it {bare['candidate']:.3f}"
        text += "" if bare.get("incumbent") is None else f" vs {bare['incumbent']:.3f}"
    return text


_CANARY_ENDS = {"promoted": "promoted after its canary", "rolled_back": "rolled back in canary",
                "expired": "canary expired (too few calls), rolled back",
                "stopped": "canary stopped", ENDED: "canary ended (promoted model replaced)"}


def _canary_text(record: CanaryRecord | None) -> tuple[str, bool]:
    """An entry's canary in words, and whether it runs now."""
    if record is None:
        return "", False
    if record.running:
        return f"in canary ({_percent(record.share)} of calls)", True
    by = {"loop": " by the loop", "person": " by a person"}.get(record.decided_by or "", "")
    return _CANARY_ENDS.get(record.state, record.state) + by, False


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f}%".replace(".0%", "%")


@dataclass(frozen=True)
class CanaryView:
    """The canary running for a function, with the loop's last figures for it."""

    version_id: str
    model: str
    share: float
    started_at: str
    incumbent_version: str | None
    look: JSONObject | None = None  # the loop's last look at it (None: not looked at yet)

    @classmethod
    def of(cls, route: CanaryRoute, look: JSONObject | None) -> "CanaryView":
        mine = look if look and look.get("version_id") == route.version_id else None
        return cls(route.version_id, route.model, route.share, route.started_at,
                   route.incumbent_version, mine)

    def arm(self, name: str) -> JSONObject:
        """One arm's figures from the last look ("candidate" or "incumbent"; empty before)."""
        figures = (self.look or {}).get("figures")
        arm = figures.get(name) if isinstance(figures, dict) else None
        return arm if isinstance(arm, dict) else {}

    def arms_text(self) -> str:
        """"candidate 120 calls, 1.7% errors · promoted 360 calls, 0.8% errors" (or why none)."""
        if self.look is None:
            return "the loop has not looked at it yet"
        parts = []
        for name, label in (("candidate", self.version_id),
                            ("incumbent", self.incumbent_version or "promoted")):
            arm = self.arm(name)
            calls = arm.get("calls")
            if not isinstance(calls, int):
                continue
            text = f"{label} {calls} calls, {_percent(_number(arm.get('error_rate')))} errors"
            if arm.get("corrected"):
                text += f", {_percent(_number(arm.get('correction_rate')))} corrected"
            elif isinstance(arm.get("score_mean"), (int, float)):
                text += f", similarity {float(arm['score_mean']):.3f}"
            parts.append(text)
        return " · ".join(parts) or str(self.look.get("reason") or "")

    def text(self) -> str:
        since = readable_time(self.started_at) if self.started_at else "?"
        checked = self.look.get("checked_at") if self.look else None
        when = f" (loop, {readable_epoch(checked)})" if isinstance(checked, (int, float)) else ""
        return (f"{self.version_id} {self.model} serves {_percent(self.share)} of calls beside "
                f"{self.incumbent_version or 'the promoted model'} since {since}; "
                f"{self.arms_text()}{when}")


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _gain_text(gain: object) -> str:
    """The registry's gain figures as text ("" for an entry judged before the gate took them)."""
    if not isinstance(gain, dict):
        return ""
    try:
        return format_gain(float(gain["mean"]), float(gain["low"]), float(gain["high"]),
                           float(gain["confidence"]), int(gain["cases"]))
    except (KeyError, TypeError, ValueError):
        return ""


def _slices_text(evaluation: JSONObject) -> str:
    """Per-slice scores from the registry's figures (they hold case counts since the gate took
    intervals; "" before)."""
    cases = evaluation.get("slice_cases")
    candidate, incumbent = evaluation.get("candidate"), evaluation.get("incumbent")
    if not (isinstance(cases, dict) and isinstance(candidate, dict)
            and isinstance(incumbent, dict)):
        return ""
    slices = {
        name: {"candidate": candidate[name], "incumbent": incumbent[name], "cases": count}
        for name, count in cases.items()
        if isinstance(candidate.get(name), (int, float))
        and isinstance(incumbent.get(name), (int, float)) and isinstance(count, (int, float))
    }
    return format_slice_scores(slices)


@dataclass
class ServiceView:
    """The function's models, the hook in service, the gates' last words, and the loop."""

    function: str
    models: list[ModelRow] = field(default_factory=list)
    promoted: ModelRow | None = None
    last_model_decision: ModelRow | None = None  # the newest model the gate judged
    active_hook: str | None = None
    last_hook_decision: str | None = None  # "v003 kept inactive: it changes 2 of 40 good outputs"
    loop: LoopView | None = None
    problems: list[str] = field(default_factory=list)
    canary: CanaryView | None = None  # the canary running now
    last_canary: str | None = None  # "m002 rolled back in canary by the loop: ..." (none running)

    def lines(self) -> list[tuple[str, str]]:
        """(label, text) lines every face shows above its tables."""
        promoted = self.promoted
        called = (f" (called as its deployment {promoted.served_as})"
                  if promoted is not None and promoted.served_as else "")
        lines = [("model in service", f"{promoted.version_id} {promoted.model}{called}"
                  if promoted else "none promoted yet: the function runs its default model"),
                 ("hook in service", self.active_hook or "none")]
        if self.canary is not None:
            lines.insert(1, ("canary", self.canary.text()))
        elif self.last_canary:
            lines.insert(1, ("last canary", self.last_canary))
        last = self.last_model_decision
        if last is not None and last.gate:
            gain = f", paired gain {last.gain}" if last.gain else ""
            lines.append(
                ("last model gate",
                 f"{last.version_id} {last.gate} ({last.score}{gain}): {last.reason}")
            )
        if self.last_hook_decision:
            lines.append(("last hook gate", self.last_hook_decision))
        if self.loop is not None and not self.loop.problem:
            when = (
                f"; the continuous loop looks again at {readable_epoch(self.loop.next_check_at)}"
                if self.loop.next_check_at
                else ""
            )
            lines.append(("loop", self.loop.trigger + when))
        return lines


def service_view(config: Config, function: str, source: LogReader | None = None) -> ServiceView:
    """Everything in service for ``function``; problems (a damaged registry, no store) are reported,
    not raised."""
    view = ServiceView(function)
    try:
        registry = (
            ModelRegistry(config.models.dir, function) if Path(config.models.dir).is_dir() else None
        )
        entries = registry.list() if registry is not None else []
        view.problems.extend(registry.warnings if registry is not None else [])
    except VectorTrainerError as exc:
        entries = []
        view.problems.append(str(exc))
    view.models = [ModelRow.of(e) for e in entries]
    if registry is not None:
        _read_canary(view, registry, entries, config)
    view.promoted = next((row for row in view.models if row.promoted), None)
    view.last_model_decision = next((row for row in reversed(view.models) if row.gate), None)
    hooks_dir = Path(config.hooks.dir)
    manager = HookVersionManager.for_function(hooks_dir, function)
    if (manager.output_dir / VERSIONS_DIRNAME).is_dir():
        versions = manager.list_versions()
        active = next((v for v in versions if v.active), None)
        view.active_hook = f"{active.version_id} ({active.rules_count} rules)" if active else None
        judged = next((v for v in reversed(versions) if v.gate), None)
        view.last_hook_decision = _hook_decision(judged) if judged else None
    elif not manager.output_dir.exists() and (hooks_dir / HOOK_FILENAME).is_file():
        # What the runtime runs for a function without a folder of its own (VT-18).
        legacy = hooks_dir / HOOK_FILENAME
        view.active_hook = f"{legacy} (the one-hook layout's, run by every function)"
    view.loop = loop_view(config, function, source)
    if view.loop.problem:
        view.problems.append(view.loop.problem)
    return view


def _read_canary(view: ServiceView, registry: ModelRegistry, entries: list[ModelEntry],
                 config: Config) -> None:
    """The running canary with the loop's last look at it, or the last one that ended."""
    try:
        route = registry.canary()
    except VectorTrainerError as exc:
        view.problems.append(str(exc))
        route = None
    if route is not None:
        try:
            look = read_state(config, view.function).canary
        except VectorTrainerError:
            look = None
        view.canary = CanaryView.of(route, look)
        return
    ended = [(record.ended_at or "", entry.version_id, record) for entry in entries
             if (record := CanaryRecord.from_dict(entry.canary)) is not None and record.ended_at]
    if ended:
        _, version_id, record = max(ended, key=lambda item: item[0])
        text, _ = _canary_text(record)
        view.last_canary = f"{version_id} {text}" + (f": {record.reason}" if record.reason else "")


def _hook_decision(version: HookVersion) -> str:
    gate = version.gate or {}
    state = (
        "active"
        if version.active
        else ("passed, not active now" if gate.get("passed") else "kept inactive")
    )
    return f"{version.version_id} {state}: {gate.get('reason', '')}"
