"""Three deterministic support-desk functions standing in for LLM-backed ones, and their inputs.

The seeder decorates them with VectorWave's `@vectorize` at seed time (after the
store is configured) and calls them over the inputs below: clusters of
different sizes, a few rare but successful new patterns, and failing calls.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from vectortrainer.json_types import JSONObject

NAMES = ["Anna", "Ben", "Chloe", "Daniel", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas",
         "Kemal", "Lena", "Marta", "Noah", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tara"]
TIERS = ["free", "pro", "enterprise"]

# topic -> (ticket templates, how many calls). Sizes differ on purpose: density
# selection must represent every cluster, not only the biggest one.
TICKET_TOPICS: dict[str, tuple[list[str], int]] = {
    "billing": ([
        "I was charged twice for order {order} this month, please refund the duplicate charge.",
        "My credit card shows two payments for order {order}. Why was I billed twice?",
        "Double charge on my invoice for order {order}, can you fix the billing?",
        "The billing page says I paid twice for order {order}. I need one charge reversed.",
    ], 150),
    "login": ([
        "I can not log in to my account since yesterday, the password reset email never arrives.",
        "Password reset link is not working, I am locked out of my account.",
        "Login fails with 'invalid credentials' even after resetting my password twice.",
        "Two-factor code is rejected and I can not sign in to the dashboard.",
    ], 100),
    "shipping": ([
        "Order {order} has not arrived yet, the tracking page has not updated for a week.",
        "Where is my package for order {order}? Tracking says it is stuck in transit.",
        "Delivery of order {order} is late, the courier marked it as delayed.",
    ], 60),
    "refund": ([
        "I returned the headphones from order {order} two weeks ago and still have no refund.",
        "Refund for returned order {order} has not been credited to my card yet.",
    ], 40),
}
# Rare, successful, new patterns: far from every cluster above.
RARE_TICKETS = [
    "Under GDPR article 17 I request deletion of all personal data you hold about me.",
    "Your mobile app does not work with my screen reader; the checkout button has no label.",
    "Can I pay my enterprise invoice in Swiss francs through a bank transfer instead?",
    "A parcel from your warehouse was delivered to my address but it is addressed to a neighbour.",
    "Do you offer an educational discount for a classroom of thirty students?",
]
# Inputs the function cannot handle: these calls raise and are logged as ERROR.
FAILING_TICKETS = ["", "   ", "<binary attachment: 4.2 MB>", "\x00\x00", "??"]

INTENT_TOPICS: dict[str, tuple[list[str], int]] = {
    "cancel_subscription": (
        [
            "Please cancel my subscription at the end of this billing period.",
            "How do I cancel my plan? I do not want to be charged next month.",
            "Stop my monthly subscription, I am switching providers.",
        ],
        80,
    ),
    "upgrade_plan": (
        [
            "I want to upgrade to the pro plan for my team of {n} people.",
            "What does it cost to move from free to pro with {n} seats?",
        ],
        50,
    ),
    "password_reset": (
        [
            "Reset my password please, I forgot it.",
            "I need a new password, the old one does not work anymore.",
        ],
        40,
    ),
    "greeting": (
        ["Hello there!", "Hi, is anyone available to chat?", "Good morning, quick question."],
        20,
    ),
}
RARE_MESSAGES = [
    "Our lawyer will contact you about the data breach notice you sent.",
    "Is the API rate limit per key or per organisation when using webhooks?",
    "Can your invoices include our VAT number and a purchase order reference?",
]
FAILING_MESSAGES = ["", "x" * 2100]


def summarize_ticket(ticket: str, tier: str) -> str:
    """Summarise a customer support ticket in one line with a priority."""
    topic = _topic_of(ticket)
    order = _order_of(ticket)
    priority = "high" if tier == "enterprise" or topic == "billing" else "normal"
    detail = {
        "billing": f"customer was charged twice for order {order}",
        "login": "customer can not log in and the password reset does not help",
        "shipping": f"order {order} is late and tracking is not updating",
        "refund": f"refund for returned order {order} has not arrived",
        "other": ticket.strip().rstrip(".?!")[:90].lower(),
    }[topic]
    return f"Summary: {topic.capitalize()} issue - {detail}. Priority: {priority}."


def classify_intent(message: str) -> JSONObject:
    """Classify the intent of a customer chat message."""
    text = message.strip()
    if not text or len(text) > 2000:
        raise ValueError(f"cannot classify a message of {len(text)} characters")
    lowered = text.lower()
    rules = [
        ("cancel", "cancel_subscription"),
        ("upgrade", "upgrade_plan"),
        ("pro", "upgrade_plan"),
        ("password", "password_reset"),
        ("hello", "greeting"),
        ("hi,", "greeting"),
        ("morning", "greeting"),
    ]
    for keyword, intent in rules:
        if keyword in lowered:
            return {"intent": intent, "confidence": round(0.8 + (len(text) % 20) / 100, 2)}
    return {"intent": "other", "confidence": 0.41}


def draft_reply(ticket: str, customer_name: str, tier: str) -> str:
    """Draft a reply to a customer support ticket."""
    topic = _topic_of(ticket)
    order = _order_of(ticket)
    body = {
        "billing": f"We can see the duplicate charge for order {order} and have reversed it.",
        "login": "We have reset your login, and a new password link is on its way.",
        "shipping": (
            f"We have asked the courier about order {order} and will update you within 2 days."
        ),
        "refund": f"We have issued the refund for order {order}; it can take 5 days to appear.",
        "other": "A specialist will look into your request.",
    }[topic]
    return f"Hi {customer_name}, thanks for reaching out. {body} Best regards, Support"


def _topic_of(ticket: str) -> str:
    text = ticket.strip()
    if len(text) < 3 or not any(ch.isalpha() for ch in text) or text.startswith("<binary"):
        raise ValueError("ticket has no readable text")
    lowered = text.lower()
    for keyword, topic in (
        ("charge", "billing"),
        ("bill", "billing"),
        ("paid twice", "billing"),
        ("refund", "refund"),
        ("log in", "login"),
        ("login", "login"),
        ("password", "login"),
        ("sign in", "login"),
        ("arrived", "shipping"),
        ("tracking", "shipping"),
        ("deliver", "shipping"),
        ("package", "shipping"),
    ):
        if keyword in lowered:
            return topic
    return "other"


def _order_of(ticket: str) -> str:
    for word in ticket.replace(",", " ").replace(".", " ").split():
        if word.isdigit() and len(word) == 4:
            return word
    return "unknown"


@dataclass(frozen=True)
class DemoCall:
    function: str
    kwargs: dict[str, str]


DEMO_FUNCTIONS: dict[str, Callable[..., str | JSONObject]] = {
    "summarize_ticket": summarize_ticket,
    "classify_intent": classify_intent,
    "draft_reply": draft_reply,
}


def demo_calls(seed: int = 7) -> list[DemoCall]:
    """Every call the seeder makes, in a fixed order (deterministic for a given seed)."""
    rng = random.Random(seed)
    calls: list[DemoCall] = []

    def tickets() -> list[str]:
        out = []
        for templates, count in TICKET_TOPICS.values():
            for i in range(count):
                out.append(templates[i % len(templates)].format(order=rng.randint(1000, 9999)))
        return out

    for text in tickets():
        calls.append(DemoCall("summarize_ticket", {"ticket": text, "tier": rng.choice(TIERS)}))
    for text in RARE_TICKETS + FAILING_TICKETS:
        calls.append(DemoCall("summarize_ticket", {"ticket": text, "tier": rng.choice(TIERS)}))
    for templates, count in INTENT_TOPICS.values():
        for i in range(count):
            calls.append(
                DemoCall(
                    "classify_intent",
                    {"message": templates[i % len(templates)].format(n=rng.randint(2, 40))},
                )
            )
    for text in RARE_MESSAGES + FAILING_MESSAGES:
        calls.append(DemoCall("classify_intent", {"message": text}))
    reply_tickets = [t for t in tickets() if rng.random() < 0.45]
    for text in reply_tickets + RARE_TICKETS[:3] + FAILING_TICKETS[:3]:
        calls.append(
            DemoCall(
                "draft_reply",
                {"ticket": text, "customer_name": rng.choice(NAMES), "tier": rng.choice(TIERS)},
            )
        )
    return calls
