"""The evaluation gate: a trained model is promoted only when it beats the model in service on
held-out cases.

The held-out cases (:mod:`vectortrainer.gate.holdout`) are replayed through the
candidate and through the incumbent (the promoted model of the same provider, else
the base model), both through the trainer's inference (``BaseTrainer.complete_many``).
Each reply is scored against its reference with normalised edit similarity
(Levenshtein, 1 = identical) and, with ``semantic``, MiniLM cosine similarity; a
case's score is their mean.

The decision holds statistically, not only on average. Each case gives a paired difference
(candidate score minus incumbent score); the primary criterion is the one-sided lower bound,
at ``confidence`` (0.95 by default), of their mean: a BCa bootstrap with a fixed seed
(:mod:`vectortrainer.gate.evidence`). An exact sign test was the other choice; it counts which
model won each case but not by how much, and at 95% would need every one of the demo's 7 cases
to improve. The outcome is one of three:

- ``promote``: at least ``min_cases`` cases, that lower bound at or above ``margin``, and no
  slice (steady, anomaly, feedback) more than ``tolerance`` below the incumbent's;
- ``keep``: judged and not better enough (the bound under the margin, or a slice regressed);
- ``not_enough_evidence``: fewer than ``min_cases`` held-out cases (8 by default: on 3 cases a
  difference is noise), a failed reply (the provider gave none to score), or a similarity the
  scorer could not compute. The model is kept, never promoted, and the reason says what to do.

A slice of fewer than ``min_slice_cases`` cases counts in the overall score but cannot veto
alone: one case's reply is noise, not a regression (the report names such slices). The figures,
with the gain's interval and its confidence, go to the registry entry, ``gate.json`` and the
summary.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from vectortrainer.budget.inference import InferenceEstimate, estimate_replies, inference_usd
from vectortrainer.budget.serving import Hosting, HostingEstimate, estimate_hosting
from vectortrainer.errors import SettingError, VectorTrainerError
from vectortrainer.feedback.diffing import normalized_distance
from vectortrainer.feedback.semantic import SemanticScorer
from vectortrainer.gate.evidence import PairedGain, check_confidence, paired_gain
from vectortrainer.gate.holdout import HeldOutCase
from vectortrainer.hooks.validation import apply_to_outputs
from vectortrainer.json_types import JSONObject
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.training.base import BaseTrainer, Completion
from vectortrainer.training.factory import trains_locally

EXAMPLES_KEPT = 6  # replies shown side by side in gate.json and the faces
Outcome = Literal["promote", "keep", "not_enough_evidence"]
NOT_ENOUGH = "not enough evidence"  # how every not_enough_evidence reason begins


@dataclass(frozen=True)
class GateSettings:
    """The thresholds of one decision (``gate`` in the config)."""

    margin: float = 0.02
    tolerance: float = 0.05
    semantic: bool = True
    max_reply_tokens: int = 256
    min_slice_cases: int = 3
    confidence: float = 0.95  # of the gain's lower bound (see the module docstring)
    min_cases: int = 8  # fewer held-out cases are not enough evidence to judge on

    def __post_init__(self) -> None:
        for key in ("margin", "tolerance"):
            value = getattr(self, key)
            # NaN compares false with everything: as a margin it would let any candidate through
            if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= 1):
                raise SettingError(key, value, "must be a finite number in [0, 1]")
        check_confidence(self.confidence)
        if isinstance(self.min_cases, bool) or not (isinstance(self.min_cases, int)
                                                    and self.min_cases >= 1):
            raise SettingError("min_cases", self.min_cases, "must be a whole number of at least 1")


@dataclass
class SliceFigures:
    """Mean scores of one model on one slice."""

    cases: int
    edit: float
    semantic: float | None = None
    score: float = 0.0


@dataclass
class ModelGateDecision:
    """What the gate measured and decided for one candidate."""

    candidate: str
    incumbent: str
    # the registry's id of the promoted model, None for the base model
    incumbent_version: str | None
    passed: bool
    reason: str
    candidate_score: float | None = None
    incumbent_score: float | None = None
    margin: float = 0.0
    tolerance: float = 0.0
    metrics: list[str] = field(default_factory=list)
    # slice -> candidate / incumbent
    slices: dict[str, dict[str, SliceFigures]] = field(default_factory=dict)
    inference: JSONObject = field(default_factory=dict)  # requests, tokens, usd
    examples: list[dict[str, str]] = field(default_factory=list)
    # promote / keep / not_enough_evidence; ``passed`` is True exactly for "promote"
    outcome: Outcome = "keep"
    confidence: float = 0.0
    min_cases: int = 0
    cases: int = 0
    failed_replies: int = 0
    # the mean paired difference (candidate minus incumbent, per case) and its bounds: each one
    # alone holds at ``confidence`` (gain_low is the one compared with the margin)
    gain: float | None = None
    gain_low: float | None = None
    gain_high: float | None = None
    # how the candidate answered: its deployment and hosting, when its provider needs one
    serving: JSONObject = field(default_factory=dict)
    # the function's active hook, applied to both models' replies as production applies it (the
    # decision is on those); the same figures on the bare replies
    hook_version: str | None = None
    without_hook: JSONObject = field(default_factory=dict)

    def headline(self) -> JSONObject:
        """The scores, the gain and the outcome, without the per-slice detail."""
        return {"candidate_score": self.candidate_score, "incumbent_score": self.incumbent_score,
                "gain": self.gain, "gain_low": self.gain_low, "gain_high": self.gain_high,
                "outcome": self.outcome}

    def settle(self, outcome: Outcome, reason: str) -> None:
        """Decide: ``passed`` follows the outcome, so the two never disagree."""
        self.outcome, self.passed, self.reason = outcome, outcome == "promote", reason

    def gain_figures(self) -> JSONObject | None:
        """The gain, its interval and its confidence (None when nothing was scored)."""
        if self.gain is None:
            return None
        return {"mean": self.gain, "low": self.gain_low, "high": self.gain_high,
                "confidence": self.confidence, "cases": self.cases}

    @property
    def incumbent_label(self) -> str:
        return (
            f"promoted {self.incumbent_version} ({self.incumbent})"
            if self.incumbent_version
            else f"base model {self.incumbent}"
        )

    def to_dict(self) -> JSONObject:
        data = asdict(self)
        data["incumbent_label"] = self.incumbent_label
        return data

    def figures(self) -> JSONObject:
        """The numbers a registry entry keeps (``models diff`` compares these)."""
        return {
            "candidate": {
                "overall": self.candidate_score,
                **{name: s["candidate"].score for name, s in self.slices.items()},
            },
            "incumbent": {
                "overall": self.incumbent_score,
                **{name: s["incumbent"].score for name, s in self.slices.items()},
            },
            "incumbent_model": self.incumbent,
            "cases": sum(s["candidate"].cases for s in self.slices.values()),
            "slice_cases": {name: s["candidate"].cases for name, s in self.slices.items()},
            "outcome": self.outcome,
            "gain": self.gain_figures(),
            # judged through this hook version; the bare replies' scores beside
            "hook_version": self.hook_version,
            "without_hook": {"candidate": self.without_hook.get("candidate_score"),
                             "incumbent": self.without_hook.get("incumbent_score")}
            if self.without_hook else None,
        }


Progress = Callable[[int, int, str], None]


def score_replies(replies: Sequence[str], references: Sequence[str],
                  scorer: SemanticScorer | None) -> tuple[list[float], list[float] | None]:
    """(edit similarities, semantic similarities or None) of each reply to its reference; a
    similarity the scorer gave as NaN or infinite stays NaN (unscored), never a number."""
    edits = [1.0 - normalized_distance(r, ref) for r, ref in zip(replies, references, strict=False)]
    if scorer is None:
        return edits, None
    semantic = [
        min(1.0, max(0.0, s)) if math.isfinite(s) else math.nan
        for s in map(float, scorer.similarities(list(replies), list(references)))
    ]
    return edits, semantic


def _unscored(*scores: list[float] | None) -> int:
    """How many of ``scores`` are not numbers (the scorer's NaN)."""
    return sum(1 for values in scores for s in values or () if not math.isfinite(s))


def _slice_figures(
    indices: list[int], edits: list[float], semantic: list[float] | None
) -> SliceFigures:
    edit = statistics.fmean(edits[i] for i in indices)
    sem = statistics.fmean(semantic[i] for i in indices) if semantic is not None else None
    score = edit if sem is None else (edit + sem) / 2
    return SliceFigures(
        cases=len(indices),
        edit=round(edit, 4),
        semantic=None if sem is None else round(sem, 4),
        score=round(score, 4),
    )


def _case_scores(edits: list[float], semantic: list[float] | None) -> list[float]:
    return (
        edits if semantic is None else [(e + s) / 2 for e, s in zip(edits, semantic, strict=False)]
    )


def decide(
    cases: Sequence[HeldOutCase],
    candidate: str,
    incumbent: str,
    incumbent_version: str | None,
    candidate_replies: Sequence[str | None],
    incumbent_replies: Sequence[str | None],
    settings: GateSettings,
    scorer: SemanticScorer | None,
) -> ModelGateDecision:
    """Score both models' replies per slice and decide (see the module docstring); a reply that
    is None, or missing at the end of its sequence, failed."""
    decision = ModelGateDecision(
        candidate,
        incumbent,
        incumbent_version,
        passed=False,
        reason="",
        margin=settings.margin,
        tolerance=settings.tolerance,
        metrics=["edit_similarity"] + (["minilm_similarity"] if scorer else []),
        confidence=settings.confidence,
        min_cases=settings.min_cases,
        cases=len(cases),
    )
    if not cases:
        decision.settle("not_enough_evidence", (
            f"{NOT_ENOUGH}: no held-out case to judge it on (golden data too small to hold any "
            "out, and no feedback); raise selection.top_k, record feedback, or set "
            "gate.enabled: false"
        ))
        return decision
    failed = _failed(candidate_replies, len(cases)) + _failed(incumbent_replies, len(cases))
    if failed:
        decision.failed_replies = failed
        # A failed reply scored as a poor one would decide for the other model.
        decision.settle("not_enough_evidence", (
            f"{NOT_ENOUGH}: {failed} of {len(cases) * 2} replies failed (none came back to "
            "score); check the provider, then train again, or promote the model by hand "
            "(vectortrainer models promote) after reading its replies"
        ))
        return decision
    candidate_texts = [r or "" for r in candidate_replies]
    incumbent_texts = [r or "" for r in incumbent_replies]
    references = [c.reference for c in cases]
    cand_edit, cand_sem = score_replies(candidate_texts, references, scorer)
    inc_edit, inc_sem = score_replies(incumbent_texts, references, scorer)
    unscored = _unscored(cand_edit, cand_sem, inc_edit, inc_sem)
    if unscored:
        # Counting an unscored reply as any number could favour either model: no promotion.
        decision.settle("not_enough_evidence", (
            f"{NOT_ENOUGH}: {unscored} of {len(cases) * len(decision.metrics) * 2} "
            "similarities are not numbers (NaN from the scorer), so the models cannot be "
            "compared; check the semantic model, or set gate.semantic: false"
        ))
        return decision
    gain = _measure(decision, cases, candidate_texts, incumbent_texts,
                    (cand_edit, cand_sem), (inc_edit, inc_sem))
    decision.settle(*_verdict(decision, gain, settings))
    return decision


def _failed(replies: Sequence[str | None], cases: int) -> int:
    """Replies of one model that failed: None, or missing at the end."""
    return sum(1 for r in replies[:cases] if r is None) + max(0, cases - len(replies))


Scores = tuple[list[float], list[float] | None]  # edit similarities, semantic ones


def _measure(decision: ModelGateDecision, cases: Sequence[HeldOutCase],
             candidate_replies: list[str], incumbent_replies: list[str],
             candidate: Scores, incumbent: Scores) -> PairedGain:
    """Fill in the figures of ``decision`` (per slice, overall, the gain, the examples); the
    paired gain at full precision."""
    for name in sorted({c.slice for c in cases}):
        indices = [i for i, c in enumerate(cases) if c.slice == name]
        decision.slices[name] = {"candidate": _slice_figures(indices, *candidate),
                                 "incumbent": _slice_figures(indices, *incumbent)}
    cand_scores, inc_scores = _case_scores(*candidate), _case_scores(*incumbent)
    decision.candidate_score = round(statistics.fmean(cand_scores), 4)
    decision.incumbent_score = round(statistics.fmean(inc_scores), 4)
    gain = paired_gain([c - i for c, i in zip(cand_scores, inc_scores, strict=True)],
                       decision.confidence)
    decision.gain, decision.gain_low, decision.gain_high = (
        round(gain.mean, 4), round(gain.low, 4), round(gain.high, 4)
    )
    decision.examples = [
        {
            "slice": c.slice,
            "prompt": next((m["content"] for m in reversed(c.messages) if m["role"] == "user"), ""),
            "reference": c.reference,
            "candidate": candidate_replies[i],
            "incumbent": incumbent_replies[i],
        }
        for i, c in enumerate(cases[:EXAMPLES_KEPT])
    ]
    return gain


def _verdict(
    decision: ModelGateDecision, gain: PairedGain, settings: GateSettings
) -> tuple[Outcome, str]:
    """The outcome of a measured decision and its reason."""
    if decision.cases < settings.min_cases:
        return "not_enough_evidence", (
            f"{NOT_ENOUGH}: {decision.cases} held-out case(s), fewer than gate.min_cases "
            f"{settings.min_cases} (score {decision.candidate_score:.3f} vs the "
            f"{decision.incumbent_label} ({decision.incumbent_score:.3f})); record more feedback, "
            "or raise selection.top_k or gate.max_cases for more held-out cases, then train again"
        )
    fell = {
        name: f"{name} {s['incumbent'].score:.3f} -> {s['candidate'].score:.3f}"
        for name, s in decision.slices.items()
        # written so that a NaN anywhere counts as a fall, never as holding up
        if not s["candidate"].score >= s["incumbent"].score - settings.tolerance
    }
    regressions = [text for name, text in fell.items()
                   if decision.slices[name]["candidate"].cases >= settings.min_slice_cases]
    too_few = [
        f"{text} ({decision.slices[name]['candidate'].cases} case(s), fewer than "
        f"{settings.min_slice_cases} to veto alone)"
        for name, text in fell.items()
        if text not in regressions
    ]
    if regressions:
        return "keep", (
            f"slice(s) regressed beyond the tolerance {settings.tolerance:g} against the "
            f"{decision.incumbent_label}: {', '.join(regressions)}"
        )
    if not gain.holds_above(settings.margin):
        by = f" by the margin {settings.margin:g}" if settings.margin else ""
        return "keep", (
            f"score {decision.candidate_score:.3f} does not beat the {decision.incumbent_label} "
            f"({decision.incumbent_score:.3f}){by} at {_percent(gain.confidence)} confidence: "
            f"paired gain {gain.mean:+.3f}, its lower bound {gain.low:+.3f}"
        )
    slices = (f"fell but counted only in the overall score: {', '.join(too_few)}" if too_few
              else "no slice regressed")
    return "promote", (
        f"score {decision.candidate_score:.3f} beats the {decision.incumbent_label} "
        f"({decision.incumbent_score:.3f}) by {gain.mean:+.3f}, at least {gain.low:+.3f} at "
        f"{_percent(gain.confidence)} confidence over {gain.cases} cases; {slices}"
    )


def _percent(share: float) -> str:
    return f"{share * 100:g}%"


def estimate_gate_replies(
    cases: Sequence[HeldOutCase],
    *,
    model: str,
    max_reply_tokens: int,
    models_dir: Path,
    function: str | None,
    provider: str = "openai",
    hosting: Hosting | None = None,
) -> list[InferenceEstimate | HostingEstimate]:
    """What the gate will cost at most, before anything is uploaded: the candidate's replies (a
    fine-tune of ``model``), the incumbent's (a fine-tune too when ``function`` has a promoted
    model in ``models_dir``) and, when ``hosting`` needs one, the candidate's deployment for the
    longest it may live."""
    if not cases:
        return []
    conversations = [c.messages for c in cases]
    promoted = ModelRegistry(models_dir, function).promoted() if function else None
    free = hosting is not None and hosting.tokens_free
    parts: list[InferenceEstimate | HostingEstimate] = [
        estimate_replies(model, conversations, max_tokens=max_reply_tokens, fine_tuned=True,
                         provider=provider, tokens_free=free),
        estimate_replies(model, conversations, max_tokens=max_reply_tokens,
                         fine_tuned=promoted is not None, provider=provider,
                         tokens_free=free and promoted is not None),
    ]
    hosted = estimate_hosting(hosting, model, len(conversations)) if hosting else None
    return parts + ([hosted] if hosted is not None else [])


def unserved(cases: Sequence[HeldOutCase], *, candidate: str, incumbent: str,
             incumbent_version: str | None, settings: GateSettings,
             reason: str) -> ModelGateDecision:
    """The decision when the candidate could not be served to the gate (its deployment failed or
    was never ready): not enough evidence, with ``reason``."""
    decision = ModelGateDecision(candidate, incumbent, incumbent_version, passed=False, reason="",
                                 margin=settings.margin, tolerance=settings.tolerance,
                                 confidence=settings.confidence, min_cases=settings.min_cases,
                                 cases=len(cases))
    decision.settle("not_enough_evidence", f"{NOT_ENOUGH}: {reason}")
    return decision


def evaluate_candidate(
    trainer: BaseTrainer,
    cases: Sequence[HeldOutCase],
    *,
    candidate: str,
    incumbent: str,
    incumbent_version: str | None,
    settings: GateSettings,
    scorer: SemanticScorer | None,
    progress: Progress | None = None,
    served_as: Mapping[str, str] | None = None,
    hook: ActiveHook | None = None,
) -> ModelGateDecision:
    """Replay ``cases`` through both models and decide; the tokens the provider reported are
    priced. ``served_as`` maps a role ("candidate", "incumbent") to the name its requests give
    (its deployment's, when it has one); with
    ``hook``, the decision is on the replies as the hook returns them (production's), and the
    bare replies' figures are reported beside it."""
    conversations = [c.messages for c in cases]
    replies: dict[str, list[Completion]] = {}
    for step, (role, model) in enumerate((("candidate", candidate), ("incumbent", incumbent))):
        asked = (served_as or {}).get(role, model)
        if progress is not None:
            progress(step, 2, f"asking the {role} {asked}")
        replies[role] = (
            trainer.complete_many(asked, conversations, max_tokens=settings.max_reply_tokens)
            if conversations
            else []
        )
    texts = {role: [None if r.failed else r.text for r in answers]
             for role, answers in replies.items()}
    bare = None
    if hook is not None:
        bare = decide(cases, candidate, incumbent, incumbent_version, texts["candidate"],
                      texts["incumbent"], settings, scorer)
        texts = {role: _through_hook(hook, cases, answers) for role, answers in texts.items()}
    decision = decide(cases, candidate, incumbent, incumbent_version, texts["candidate"],
                      texts["incumbent"], settings, scorer)
    if hook is not None and bare is not None:
        decision.hook_version, decision.without_hook = hook.version_id, bare.headline()
    decision.inference = _priced(trainer, candidate, incumbent, replies)
    return decision


@dataclass(frozen=True)
class ActiveHook:
    """The function's live hook: its version and its source."""

    version_id: str
    source: str


def _through_hook(hook: ActiveHook, cases: Sequence[HeldOutCase],
                  replies: Sequence[str | None]) -> list[str | None]:
    """``replies`` as production returns them: through the hook (a failed reply stays failed)."""
    answered = [i for i, reply in enumerate(replies) if reply is not None]
    changed = apply_to_outputs(hook.source, [replies[i] or "" for i in answered],
                               [cases[i].context for i in answered])
    hooked = list(replies)
    for index, text in zip(answered, changed, strict=True):
        hooked[index] = text
    return hooked


def _priced(
    trainer: BaseTrainer, candidate: str, incumbent: str, replies: dict[str, list[Completion]]
) -> JSONObject:
    usage: JSONObject = {
        "requests": sum(len(r) for r in replies.values()),
        "prompt_tokens": sum(c.prompt_tokens for r in replies.values() for c in r),
        "completion_tokens": sum(c.completion_tokens for r in replies.values() for c in r),
    }
    if trains_locally(trainer.name):
        usage["usd"] = 0.0  # a local model
        return usage
    # On a provider whose deployments bill by the hour, only the base model, answering
    # serverless, bills tokens (as the estimate priced it); a fine-tune answered on a deployment.
    priced = [(role, model) for role, model in (("candidate", candidate), ("incumbent", incumbent))
              if not trainer.hosting().tokens_free
              or (role == "incumbent" and model == trainer.base_model)]
    try:
        usage["usd"] = round(
            sum(
                inference_usd(
                    model,
                    sum(c.prompt_tokens for c in replies[role]),
                    sum(c.completion_tokens for c in replies[role]),
                    provider=trainer.name,
                    base_model=trainer.base_model,
                )
                for role, model in priced
            ),
            6,
        )
    except VectorTrainerError:
        # a model without a known inference price: the tokens are still reported
        usage["usd"] = None
    return usage
