"""Deterministic demo feedback: corrections of the three demo functions' outputs.

The corrections are systematic, the way a team's reviewers correct a model: a
prefix the team does not want ("Summary: "), order numbers written "#4411", a
spelling ("can not" -> "cannot"), a product name ("Cloudsync" -> "CloudSync"),
intent labels renamed, the greeting and the signature of replies, doubled spaces,
and one sentence that enterprise customers get appended. A few one-off
corrections and one contradicting correction are mixed in, as in real feedback.
"""

from __future__ import annotations

import os
import random
import re

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import write_feedback_file

_NAMES = ["Anna", "Ben", "Chloe", "Daniel", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas",
          "Kemal", "Lena", "Marta", "Noah", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tara",
          "Uma", "Victor", "Wen", "Yusuf"]
_TIERS = ["free", "pro", "enterprise"]
ENTERPRISE_SENTENCE = "Your account manager will follow up within 4 hours."

# (ticket template, summary detail template, reply topic, reply action)
_TICKETS = [
    (
        "I was charged twice for order {order}, please refund the duplicate.",
        "Billing issue - customer was charged twice for order {order}.",
        "refund",
        "We have issued the refund.",
    ),
    (
        "Order {order} has not arrived and tracking has not moved for a week.",
        "Shipping delay - order {order} is stuck in transit.",
        "delivery",
        "We have asked the courier for an update.",
    ),
    (
        "I can not open the Cloudsync app since the update of order {order}.",
        "Login problem - customer can not open the Cloudsync app after order {order}.",
        "login problem",
        "We can not see any outage, so we reset your session.",
    ),
    (
        "I did not recieve the invoice for order {order}.",
        "Invoice missing - customer did not recieve the invoice for order {order}.",
        "invoice",
        "We have sent the invoice again.",
    ),
    (
        "Cloudsync deleted my files after order {order} renewed.",
        "Data loss - Cloudsync removed files after order {order} renewed.",
        "files",
        "Our Cloudsync team is restoring them now.",
    ),
]
_PRIORITY = {"free": "low", "pro": "medium", "enterprise": "high"}

# intent as the model wrote it -> the label the team uses
_INTENTS = {"refund": "refund_request", "billing": "billing_question", "shipping": "shipping_delay"}
_INTENT_MESSAGES = {
    "refund": ["I want my money back for order {order}.", "Please refund order {order}, it broke."],
    "billing": [
        "Why is my invoice for order {order} higher than usual?",
        "Which card was billed for order {order}?",
    ],
    "shipping": ["Where is order {order}?", "Order {order} is late, when will it come?"],
}


def _order(rng: random.Random) -> int:
    return rng.randrange(1000, 99999)


def _summaries(rng: random.Random, count: int) -> list[FeedbackPair]:
    pairs = []
    for i in range(count):
        ticket, detail, _, _ = _TICKETS[i % len(_TICKETS)]
        tier = _TIERS[(i // len(_TICKETS)) % len(_TIERS)]
        order = _order(rng)
        bad_detail = detail.format(order=order)
        if i % 4 == 1:  # the model sometimes doubles a space
            bad_detail = bad_detail.replace(" - ", " -  ", 1)
        bad = f"Summary: {bad_detail} Priority: {_PRIORITY[tier]}."
        fixed = _fix_common(f"{detail.format(order=order)} Priority: {_PRIORITY[tier]}.")
        pairs.append(_pair(bad, fixed, ticket.format(order=order), "summarize_ticket", tier))
    return pairs


def _intents(rng: random.Random, count: int) -> list[FeedbackPair]:
    pairs = []
    labels = sorted(_INTENTS)
    for i in range(count):
        label = labels[i % len(labels)]
        tier = _TIERS[i % len(_TIERS)]
        confidence = 0.6 + (i * 7 % 39) / 100
        message = _INTENT_MESSAGES[label][i % 2].format(order=_order(rng))
        bad = f'{{"intent": "{label}", "confidence": {confidence:.2f}}}'
        fixed = f'{{"intent": "{_INTENTS[label]}", "confidence": {confidence:.2f}}}'
        pairs.append(_pair(bad, fixed, message, "classify_intent", tier))
    return pairs


def _replies(rng: random.Random, count: int) -> list[FeedbackPair]:
    pairs = []
    for i in range(count):
        ticket, _, topic, action = _TICKETS[i % len(_TICKETS)]
        tier = _TIERS[i % len(_TIERS)]
        name = _NAMES[i % len(_NAMES)]
        order = _order(rng)
        body = f"thanks for reaching out about your {topic} for order {order}. {action}"
        bad = f"Hi {name}, {body} Best regards, Support"
        fixed = _fix_common(f"Hello {name}, {body} Kind regards, the Support Team")
        if tier == "enterprise":
            fixed += " " + ENTERPRISE_SENTENCE
        pairs.append(_pair(bad, fixed, ticket.format(order=order), "draft_reply", tier, name=name))
    return pairs


def _fix_common(text: str) -> str:
    """The corrections every reviewer applies, whatever the function."""
    for number in set(re.findall(r"order (\d+)", text)):
        text = text.replace(f"order {number}", f"order #{number}")
    return (
        text.replace("can not", "cannot")
        .replace("Cloudsync", "CloudSync")
        .replace("recieve", "receive")
    )


def _one_offs() -> list[FeedbackPair]:
    """Corrections made once, and one that contradicts the team's usual fix."""
    return [
        _pair(
            "Summary: Billing issue - customer is angry about order 5120. Priority: low.",
            "Billing issue - customer is unhappy about order #5120. Priority: low.",
            "Order 5120 was charged twice and I am angry.",
            "summarize_ticket",
            "free",
        ),
        _pair(
            '{"intent": "other", "confidence": 0.41}',
            '{"intent": "account_deletion", "confidence": 0.41}',
            "Please delete my account and all my data.",
            "classify_intent",
            "pro",
        ),
        _pair(
            "Hi Zoe, thanks for reaching out about your refund for order "
            "7311. We have issued the refund. Best regards, Support",
            "Hey Zoe, thanks for reaching out about your refund for order "
            "#7311. We have issued the refund. Kind regards, the Support Team",
            "Refund for order 7311 please.",
            "draft_reply",
            "free",
            name="Zoe",
        ),
        _pair(
            "Hi Xavier, thanks for reaching out about your delivery for order 6402. "
            "We have asked the courier for an update. Best regards, Support",
            "Hello Xavier, thanks for reaching out about your delivery for order #6402. "
            "The courier confirmed delivery for tomorrow. Kind regards, the Support Team",
            "Where is order 6402?",
            "draft_reply",
            "pro",
            name="Xavier",
        ),
    ]


def _pair(
    bad: str, fixed: str, prompt: str, function: str, tier: str, *, name: str | None = None
) -> FeedbackPair:
    context = {"function": function, "tier": tier}
    if name is not None:
        context["customer_name"] = name
    return FeedbackPair(bad_output=bad, fixed_output=fixed, input_prompt=prompt, context=context)


def demo_feedback_pairs() -> list[FeedbackPair]:
    """72 deterministic feedback pairs over the three demo functions (same list on every call)."""
    rng = random.Random(20240611)
    pairs = _summaries(rng, 26) + _intents(rng, 15) + _replies(rng, 27) + _one_offs()
    # Interleave deterministically so any prefix or split sees every function.
    random.Random(7).shuffle(pairs)
    return pairs


def write_demo_feedback(path: str | os.PathLike[str]) -> int:
    """Write the demo pairs to ``path`` as a feedback store (atomically); returns how many."""
    pairs = demo_feedback_pairs()
    write_feedback_file(path, pairs, id_prefix="demo-")
    return len(pairs)
