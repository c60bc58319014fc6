"""Labelled support-ticket sets with real MiniLM embeddings, for judging golden selection on realistic data.

Each set holds intents of very different sizes written from varied templates (slots,
greetings, sign-offs, case, punctuation and typo noise), bridge tickets that mix two
intents, a burst of identical tickets inside one intent, one-of-a-kind requests, and
failed calls whose vectors embed their error text (as VectorWave stores them).
Variants differ in seed, sizes and difficulty. Embeddings come from the offline
all-MiniLM-L6-v2 model and are cached on disk by a hash of the texts.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NOVEL = "novel"
BRIDGE = "bridge"
FAILED = "failed"

NAMES = ("Mina", "Tom", "Aisha", "Lukas", "Priya", "Jorge", "Ines", "Kenji", "Olga", "Sam", "Fatou", "Wei")
PRODUCTS = ("headphones", "standing desk", "coffee grinder", "yoga mat", "phone case", "air purifier", "backpack")
PLANS = ("Pro plan", "Family plan", "Basic plan", "annual plan", "monthly subscription", "Team plan")
DEVICES = ("iPhone 15", "Pixel 8", "Galaxy S23", "iPad", "Android tablet", "MacBook")
GREETINGS = ("", "", "Hi,", "Hello,", "Hi team,", "Hello support,", "Good morning,", "Hey,", "Dear support team,")
SIGN_OFFS = ("", "", "", "Thanks", "Thank you!", "Regards, {name}", "Cheers", "Best, {name}", "thx")

INTENTS: dict[str, tuple[str, ...]] = {
    "password_reset": (
        "I forgot my password and cannot log in",
        "Please reset my password, the reset link does not work",
        "The password reset email never arrives in my inbox",
        "How do I change my password? I am locked out of my account",
        "My account is locked after too many login attempts, I need a new password",
        "Reset link expired before I could use it, can you send another one",
        "I can't sign in anymore, it says my password is wrong but I didn't change it",
        "Need help resetting the password for {name}'s account",
    ),
    "order_status": (
        "Where is my order #{order}? It has been {days} days",
        "My {product} has not arrived yet, order {order}",
        "Tracking for order {order} has not updated since {weekday}",
        "When will my package with the {product} be delivered?",
        "The delivery of order #{order} is late, what is going on",
        "Courier says delivered but I never received my {product}",
        "Can you give me an update on the shipping of order {order}",
        "My parcel seems stuck in transit for {days} days",
    ),
    "refund_request": (
        "I would like a refund for the {product} I returned",
        "Please refund my money, the {product} arrived broken",
        "I returned order {order} two weeks ago and still no refund",
        "How long does a refund take to show on my card?",
        "I want my money back for the {product}, it does not work",
        "Requesting a full refund of {amount} for order {order}",
        "Refund status for my return of the {product}?",
    ),
    "billing_question": (
        "Why was I charged {amount} this month?",
        "There is a charge of {amount} on my invoice I don't recognise",
        "Can I get an invoice with my company name for the last payment",
        "My card was declined but I was still charged {amount}",
        "What payment methods do you accept for the {plan}?",
        "Please explain the {amount} fee on my latest bill",
        "I need a copy of the invoice for {month}",
    ),
    "cancel_subscription": (
        "Please cancel my {plan}",
        "How do I cancel my subscription before the next renewal",
        "I want to stop my {plan}, it renews on {weekday}",
        "Cancel my membership effective immediately",
        "I no longer need the {plan}, how can I unsubscribe",
        "Turn off auto renewal for my {plan} please",
    ),
    "app_crash": (
        "The app crashes every time I open it on my {device}",
        "Your app keeps freezing on the checkout screen on {device}",
        "After the latest update the app closes as soon as it starts",
        "Bug: the app crashes when I upload a photo on {device}",
        "App shows a white screen and then quits on my {device}",
    ),
    "feature_request": (
        "Please add a dark mode to the app",
        "Any plans for a dark theme? The white background hurts at night",
        "Feature request: a night mode for the {device} app",
        "Could you give us a dark colour scheme option",
        "I would love a dark mode, my eyes hurt when I use the app in bed",
        "When is dark mode coming to {device}?",
    ),
    "data_deletion": (
        "Delete my account and all my personal data under GDPR",
        "I request erasure of all data you hold about me",
        "Please remove my personal information from your systems",
        "Under GDPR article 17 I ask you to delete my data",
    ),
}

BRIDGES: tuple[tuple[str, str, str], ...] = (
    ("refund_request", "order_status", "My order {order} never arrived, I want a refund instead"),
    ("refund_request", "order_status", "Package lost in transit for {days} days, please refund the {product}"),
    ("cancel_subscription", "refund_request", "Cancel my {plan} and refund the last charge of {amount}"),
    ("cancel_subscription", "billing_question", "I was billed {amount} after I cancelled my {plan}"),
    ("app_crash", "password_reset", "The app crashes when I try to reset my password on {device}"),
    ("billing_question", "refund_request", "You charged me twice for order {order}, refund the duplicate"),
    ("data_deletion", "cancel_subscription", "Cancel my {plan} and delete all my data"),
    ("order_status", "billing_question", "I paid {amount} for express shipping but order {order} is late"),
    ("feature_request", "app_crash", "The app crashes in dark mode, please add a stable dark theme"),
    ("password_reset", "billing_question", "I cannot log in to see my invoice, password reset fails"),
)

NOVEL_REQUESTS: tuple[str, ...] = (
    "Our lawyer will contact you about the trademark on your logo",
    "Is your API rate limited? We plan to send 2 million requests a day",
    "Can your invoices include a Swiss VAT number and be in French?",
    "Do you support single sign-on with Okta and SCIM provisioning?",
    "We would like to become a reseller in Brazil, who do I talk to",
    "A journalist here: can I interview your CEO about supply chains?",
    "My dog chewed the charging cable, is that covered by warranty?",
    "Is your warehouse wheelchair accessible for pickup?",
    "Can I pay with Bitcoin or Monero?",
    "We found a security vulnerability in your login page, where to report it",
    "Please ship to an Antarctic research station, is that possible",
    "Do your products contain any conflict minerals?",
    "I want to donate unused stock to a school, do you run a programme",
    "Your website is not readable with my screen reader",
    "Can you sponsor our local football team next season?",
    "Is there a student discount if I send my university ID?",
    "How do you calculate the carbon footprint shown at checkout?",
    "Please stop calling my landline at 3 am",
    "Could I rent the standing desk instead of buying it",
    "Where can I find your modern slavery statement?",
    "Your parcel robot got stuck in my garden hedge",
    "Do you offer an on-premise version for air-gapped networks?",
)

ERRORS: tuple[str, ...] = (
    "TimeoutError: the upstream model did not answer within 30 s",
    "RateLimitError: 429 Too Many Requests from the completion API",
    "ValueError: could not parse the model output as JSON",
    "ConnectionError: connection reset by peer while streaming",
    "KeyError: 'intent' missing from the model response",
)


@dataclass(frozen=True)
class Variant:
    """How one set is drawn: seed, intent sizes (largest first, in INTENTS order), difficulty knobs."""

    name: str
    seed: int
    sizes: tuple[int, ...] = (300, 180, 120, 90, 60, 40, 25, 15)
    bridges: int = 10
    novel: int = 20
    burst: int = 40  # identical tickets inside the second intent
    failed: int = 12
    noise: float = 0.25  # chance of each kind of case/punctuation/typo noise per ticket


VARIANTS: tuple[Variant, ...] = (
    Variant("base", seed=1),
    Variant("noisy", seed=2, noise=0.5, bridges=16),
    Variant("skewed", seed=3, sizes=(400, 150, 80, 50, 35, 25, 20, 15), burst=60),
    Variant("small", seed=4, sizes=(120, 70, 50, 35, 25, 20, 15, 15), bridges=6, novel=12, burst=20),
)


@dataclass
class LabelledSet:
    """Texts with their label (an intent, ``novel``, ``bridge`` or ``failed``), status and vectors."""

    variant: Variant
    texts: list[str]
    labels: list[str]
    statuses: list[str]
    vectors: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 384), np.float32))

    @property
    def intent_sizes(self) -> Counter[str]:
        return Counter(label for label in self.labels if label in INTENTS)


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        name=rng.choice(NAMES), order=rng.randint(10_000, 99_999), days=rng.randint(3, 21),
        product=rng.choice(PRODUCTS), plan=rng.choice(PLANS), device=rng.choice(DEVICES),
        amount=f"${rng.randint(5, 300)}.{rng.randint(0, 99):02d}",
        weekday=rng.choice(("Monday", "Tuesday", "Friday", "Sunday")),
        month=rng.choice(("March", "April", "September", "November")),
    )


def _noisy(text: str, rng: random.Random, noise: float) -> str:
    """A person's ticket: greeting and sign-off, sometimes shouting, missing or doubled punctuation, a typo."""
    name = rng.choice(NAMES)
    parts = [rng.choice(GREETINGS), text, rng.choice(SIGN_OFFS).format(name=name)]
    ticket = " ".join(p for p in parts if p)
    if rng.random() < noise:
        ticket = ticket.lower()
    elif rng.random() < noise / 3:
        ticket = ticket.upper()
    if rng.random() < noise:
        ticket = ticket.rstrip(".?!") + rng.choice(("!!", "??", "...", ""))
    if rng.random() < noise and len(ticket) > 10:
        i = rng.randrange(1, len(ticket) - 2)
        ticket = ticket[:i] + ticket[i + 1] + ticket[i] + ticket[i + 2:]
    return ticket


def build_set(variant: Variant) -> LabelledSet:
    """The texts, labels and statuses of ``variant`` (no vectors yet; see :func:`embedded_set`)."""
    rng = random.Random(variant.seed)
    texts: list[str] = []
    labels: list[str] = []
    for (intent, templates), size in zip(INTENTS.items(), variant.sizes):
        count = size
        if intent == "order_status" and variant.burst:
            burst = "Where is my order??? I ordered a week ago and nothing happened"
            texts += [burst] * variant.burst
            labels += [intent] * variant.burst
            count -= variant.burst
        for _ in range(count):
            texts.append(_noisy(_fill(rng.choice(templates), rng), rng, variant.noise))
            labels.append(intent)
    for index in range(variant.bridges):
        _, _, template = BRIDGES[index % len(BRIDGES)]
        texts.append(_noisy(_fill(template, rng), rng, variant.noise))
        labels.append(BRIDGE)
    for request in rng.sample(NOVEL_REQUESTS, variant.novel):
        texts.append(request)
        labels.append(NOVEL)
    statuses = ["SUCCESS"] * len(texts)
    for _ in range(variant.failed):
        texts.append(rng.choice(ERRORS))  # a failed call's vector embeds its error text
        labels.append(FAILED)
        statuses.append("ERROR")
    order = list(range(len(texts)))
    rng.shuffle(order)  # logs arrive interleaved, not grouped by intent
    return LabelledSet(variant, [texts[i] for i in order], [labels[i] for i in order], [statuses[i] for i in order])


def embed(texts: list[str], cache_dir: Path | None = None) -> np.ndarray:
    """MiniLM embeddings of ``texts`` (unit length, float32), cached under ``cache_dir`` by content hash."""
    key = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()[:20]
    cached = cache_dir / f"minilm-{key}.npy" if cache_dir is not None else None
    if cached is not None and cached.exists():
        return np.load(cached)
    from vectortrainer.feedback.semantic import SemanticScorer  # loads torch and the model: seconds

    vectors = SemanticScorer().embed(texts)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.save(cached, vectors)
    return vectors


def embedded_set(variant: Variant, cache_dir: Path | None = None) -> LabelledSet:
    """``build_set(variant)`` with its real embeddings."""
    labelled = build_set(variant)
    labelled.vectors = embed(labelled.texts, cache_dir)
    return labelled


@dataclass(frozen=True)
class Assessment:
    """How a selection does on a labelled set, in the terms of issue 11's bar."""

    intents_covered: frozenset[str]  # intents of >= 15 logs with a steady pick
    intents_missed: frozenset[str]
    anomaly_novel_share: float  # share of anomaly picks that are one-of-a-kind requests
    duplicate_picks: int  # picks whose text is identical to an earlier pick's
    failed_picks: int
    unfair_pairs: list[tuple[str, int, str, int]]  # (intent, picks, smaller intent, picks) where a 3x smaller one got more
    steady_per_intent: Counter[str]


def assess(labelled: LabelledSet, steady: list[int], anomaly: list[int]) -> Assessment:
    """Coverage, novelty, duplicates, failed picks and allocation fairness of ``steady`` + ``anomaly`` rows."""
    sizes = labelled.intent_sizes
    big = {intent for intent, size in sizes.items() if size >= 15}
    per_intent = Counter(labelled.labels[r] for r in steady if labelled.labels[r] in INTENTS)
    covered = frozenset(i for i in big if per_intent[i] > 0)
    texts = [labelled.texts[r] for r in [*steady, *anomaly]]
    duplicates = len(texts) - len(set(texts))
    failed = sum(1 for r in [*steady, *anomaly] if labelled.statuses[r] != "SUCCESS")
    novel = sum(1 for r in anomaly if labelled.labels[r] == NOVEL)
    unfair = [(a, per_intent[a], b, per_intent[b]) for a in sizes for b in sizes
              if sizes[b] * 3 <= sizes[a] and per_intent[a] < per_intent[b]]
    return Assessment(covered, frozenset(big - covered), novel / len(anomaly) if anomaly else 1.0, duplicates,
                      failed, unfair, per_intent)
