"""Optional rule proposals from a chat model, under a strict JSON schema; each proposal is still
replayed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.json_types import JSONObject
from vectortrainer.rules.acceptance import Acceptance
from vectortrainer.rules.model import CASE_TRANSFORMS, RULE_KINDS, RULE_TARGETS, Rule, rule_id_for
from vectortrainer.rules.safety import check_rule_safety
from vectortrainer.rules.scoping import RejectedRule

if TYPE_CHECKING:
    from openai import OpenAI  # the client is handed in; only the annotation needs the SDK

RULES_JSON_SCHEMA: JSONObject = {
    "type": "object",
    "additionalProperties": False,
    "required": ["rules"],
    "properties": {
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "kind",
                    "target",
                    "pattern",
                    "replacement",
                    "condition",
                    "text_condition",
                    "group_case",
                ],
                "properties": {
                    "kind": {"type": "string", "enum": list(RULE_KINDS)},
                    "target": {"type": "string", "enum": list(RULE_TARGETS)},
                    "pattern": {"type": "string"},
                    "replacement": {"type": "string"},
                    "condition": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["key", "value"],
                            "properties": {"key": {"type": "string"}, "value": {"type": "string"}},
                        },
                    },
                    "text_condition": {"type": "array", "items": {"type": "string"}},
                    "group_case": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["group", "case"],
                            "properties": {
                                "group": {"type": "integer"},
                                "case": {"type": "string", "enum": list(CASE_TRANSFORMS)},
                            },
                        },
                    },
                },
            },
        }
    },
}

_LLM_INSTRUCTIONS = (
    "You turn user corrections of an AI function's outputs into general rewrite rules. "
    "Each rule has a kind (" + ", ".join(RULE_KINDS) + "), a target (output or prompt), a pattern, "
    "a replacement, an optional condition on context values, optional text_condition "
    "regexes the text must contain, and for regex_replace optional group_case transforms ("
    + ", ".join(CASE_TRANSFORMS)
    + ") of "
    "captured groups. Prefer few general rules; use regex_replace with "
    "\\d+ or [A-Z]\\w* groups for variable parts. Answer with JSON only."
)


class LLMRuleProposer:
    """Asks a chat model (through the `openai` client) for rules under a strict JSON schema."""

    def __init__(
        self, client: OpenAI, model: str = "gpt-4o-mini-2024-07-18", *, max_pairs: int = 50
    ) -> None:
        self.client = client
        self.model = model
        self.max_pairs = max_pairs

    def propose(self, pairs: Sequence[FeedbackPair]) -> list[Rule]:
        examples = [
            {"context": p.context, "bad_output": p.bad_output, "fixed_output": p.fixed_output}
            for p in pairs[: self.max_pairs]
        ]
        response = self.client.chat.completions.create(
            model=self.model,
            messages=[
                {"role": "system", "content": _LLM_INSTRUCTIONS},
                {"role": "user", "content": json.dumps(examples, ensure_ascii=False)},
            ],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "rules", "strict": True, "schema": RULES_JSON_SCHEMA},
            },
            temperature=0,
        )
        content = response.choices[0].message.content
        document = json.loads(content or "")
        rules = []
        for item in document["rules"]:
            if item["kind"] not in RULE_KINDS or item["target"] not in RULE_TARGETS:
                raise ValueError(f"unknown kind or target in {item!r}")
            condition = {str(c["key"]): str(c["value"]) for c in item.get("condition") or []}
            rule = Rule(
                kind=item["kind"],
                target=item["target"],
                pattern=str(item["pattern"]),
                replacement=str(item["replacement"]),
                condition=condition,
                text_condition=[str(p) for p in item.get("text_condition") or []],
                group_case={int(c["group"]): str(c["case"]) for c in item.get("group_case") or []},
                origin="llm",
            )
            rule.rule_id = rule_id_for(rule)
            rules.append(rule)
        return rules


def accept_llm_rules(
    llm: LLMRuleProposer,
    learner: Acceptance,
    active: Sequence[int],
    notes: list[str],
    rejected: list[RejectedRule],
) -> list[Rule]:
    """Each proposal that is safe, scoped on the pairs (one copy per function whose pairs it helps)
    and checked on the logs, added to ``learner``."""
    try:
        proposals = llm.propose([learner.pairs[i] for i in active])
    except Exception as exc:  # any failure of the model or its answer: fall back to heuristics
        notes.append(
            f"LLM synthesis failed ({type(exc).__name__}: {str(exc)[:160]}); used heuristics only"
        )
        return []
    accepted: list[Rule] = []
    for proposal in proposals:
        try:
            check_rule_safety(proposal.to_dict())
        except ValueError as exc:
            rejected.append(RejectedRule(proposal, f"unsafe regex: {exc}"))
            continue
        for scoped in learner.scope_each_function(proposal):
            if scoped.rule is None:
                rejected.append(RejectedRule(proposal, scoped.why))
                continue
            note = f"proposed by the LLM; {scoped.why}".rstrip("; ")
            kept = learner.accept(scoped.rule, scoped.evaluation, note)
            if kept is not None:
                accepted.append(kept)
    notes.append(f"LLM proposed {len(proposals)} rule(s); {len(accepted)} passed the replay check")
    return accepted
