"""Realistic feedback for rule learning (VT-12): families of corrections as reviewers make them on real logs.

Each family is one function's feedback pairs plus its uncorrected logged outputs, built
with a fixed seed, and carries what makes rule learning hard in practice:

* good outputs hold look-alikes of the defect (URLs, "issue #12", "C#", "As requested",
  "24/7", a field named in prose), in the pairs' fixed outputs and in the logs;
* the context says nothing about the defect: ``channel`` and ``locale`` are random and
  every pair has its own ``log_uuid``, as pairs made from logs do;
* the logs hold defects nobody corrected as well as good outputs, as a store does.

``split`` puts a seeded share of the pairs and of the logs aside: rules are learned from
the training pairs with the training logs as the blast-radius sample, and judged on the
held-out pairs (repair, exact) and on every good output (harm), the held-out logs included.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vectortrainer.feedback.from_logs import LoggedOutput
from vectortrainer.feedback.pair import FeedbackPair

NAMES = ["Mina", "Jonas", "Priya", "Tomas", "Aiko", "Lena", "Omar", "Sofia", "Ravi", "Elena", "Kwame", "Ines",
         "Noah", "Yara", "Felix", "Hana", "Diego", "Maya", "Arjun", "Zoe"]
CHANNELS = ["email", "chat", "sms"]
LOCALES = ["en-US", "en-GB", "en-IE"]


@dataclass(frozen=True)
class LoggedCase:
    """A logged output nobody corrected: ``fixed`` is what a reviewer would make of it (itself when good)."""

    text: str
    fixed: str
    context: dict[str, Any]

    @property
    def good(self) -> bool:
        return self.text == self.fixed


@dataclass
class Family:
    name: str
    description: str
    pairs: list[FeedbackPair]
    logs: list[LoggedCase]


@dataclass
class Split:
    family: Family
    train: list[FeedbackPair]
    held_out: list[FeedbackPair]
    sample: list[LoggedCase]  # the blast-radius sample the learner sees
    held_out_logs: list[LoggedCase] = field(default_factory=list)

    def sample_outputs(self) -> list[LoggedOutput]:
        return [LoggedOutput(case.text, case.context) for case in self.sample]

    def good_outputs(self) -> list[tuple[str, dict[str, Any]]]:
        """Every output that must come out unchanged: all fixed outputs and the held-out good logs."""
        fixed = [(p.fixed_output, p.context) for p in self.family.pairs]
        return fixed + [(case.text, case.context) for case in self.held_out_logs if case.good]


def split(family: Family, seed: int, held_out: float = 0.3) -> Split:
    """A seeded train / held-out split of the pairs and of the logs."""
    rng = random.Random(f"{family.name}-{seed}")
    pairs, logs = list(family.pairs), list(family.logs)
    rng.shuffle(pairs)
    rng.shuffle(logs)
    cut_pairs = int(round(len(pairs) * (1 - held_out)))
    cut_logs = int(round(len(logs) * 0.5))
    return Split(family, pairs[:cut_pairs], pairs[cut_pairs:], logs[:cut_logs], logs[cut_logs:])


class _Maker:
    """Pairs and logs of one function, each with an uninformative context."""

    def __init__(self, function: str, seed: int) -> None:
        self.function = function
        self.rng = random.Random(f"{function}:{seed}")
        self.pairs: list[FeedbackPair] = []
        self.logs: list[LoggedCase] = []

    def context(self) -> dict[str, Any]:
        return {"function": self.function, "channel": self.rng.choice(CHANNELS), "locale": self.rng.choice(LOCALES)}

    def pair(self, bad: str, fixed: str, prompt: str = "") -> None:
        context = {**self.context(), "log_uuid": f"{self.function}-{len(self.pairs):04d}"}
        self.pairs.append(FeedbackPair(bad, fixed, prompt, context))

    def log(self, text: str, fixed: str | None = None) -> None:
        self.logs.append(LoggedCase(text, text if fixed is None else fixed, self.context()))

    def name(self) -> str:
        return self.rng.choice(NAMES)

    def number(self, low: int = 1000, high: int = 9999) -> int:
        return self.rng.randint(low, high)

    def family(self, description: str) -> Family:
        return Family(self.function, description, self.pairs, self.logs)


def ticket_references(seed: int = 1) -> Family:
    """"ticket #4821" -> "ticket VT-4821"; good outputs say "issue #12", "C#", "#1", "sdk#install"."""
    m = _Maker("ticket_reply", seed)
    tickets = ["I have opened ticket #{n} for you.", "Your ticket #{n} is now with our {team} team.",
               "We merged your report into ticket #{n}.", "Please quote ticket #{n} in any reply.",
               "Thanks for your patience while we work on ticket #{n}."]
    lookalikes = ["The bug is tracked upstream as issue #{m}.", "The C# SDK is affected as well.",
                  "Setup steps are at https://docs.example.com/sdk#install.", "This is our #1 priority.",
                  "Ask in the #support channel if you are stuck.", "Your order #{m} has shipped."]
    teams = ["billing", "platform", "mobile", "security"]

    def reply(sentence: str, extra: str) -> str:
        return f"Hi {m.name()}, {sentence}{' ' + extra if extra else ''} Best, the Support Team"

    def sentence(templates: list[str]) -> str:
        return m.rng.choice(templates).format(n=m.number(), m=m.number(1, 400), team=m.rng.choice(teams))

    for i in range(44):
        extra = sentence(lookalikes[:2]) if i % 2 else ""  # pairs only show "issue #" and "C#"
        bad = reply(sentence(tickets), extra)
        m.pair(bad, bad.replace("ticket #", "ticket VT-"))
    for i in range(150):
        if i % 4 == 0:  # defects nobody corrected
            bad = reply(sentence(tickets), sentence(lookalikes) if i % 8 else "")
            m.log(bad, bad.replace("ticket #", "ticket VT-"))
        else:
            done = sentence(tickets).replace("ticket #", "ticket VT-") if i % 3 == 0 else ""
            m.log(reply(done or sentence(lookalikes), sentence(lookalikes) if done else ""))
    return m.family("ticket numbers get the tracker prefix; '#' elsewhere stays")


REFUND_NOTE = " Refunds take 5-7 business days to appear on your statement."


def refund_notes(seed: int = 2) -> Family:
    """A note appended to replies that refund ("will refund you"); other replies, refund words included, stay."""
    m = _Maker("refund_reply", seed)
    items = ["headphones", "blender", "jacket", "lamp", "backpack", "kettle"]
    refunds = ["we will refund you {amount} for order {order}.", "we will refund you in full for the {item}.",
               "good news: we will refund you the shipping fee for order {order}.",
               "sorry about the damaged {item}; we will refund you {amount} today."]
    others = ["your order {order} has shipped and you should have it on Friday.",
              "order {order} is not eligible for a refund, as you received it over 30 days ago.",
              "as requested, we have updated the delivery address for order {order}.",
              "we will send you a new {item} free of charge.", "a refund for order {order} was already issued to you.",
              "you can read our refund policy at https://shop.example.com/help#refunds."]

    def reply(templates: list[str]) -> str:
        body = m.rng.choice(templates).format(amount=f"${m.number(5, 300)}.{m.number(10, 99)}", order=m.number(),
                                              item=m.rng.choice(items))
        return f"Hi {m.name()}, {body} Thank you, Ana"

    def signed(text: str) -> str:  # every reviewer also fixes the sign-off
        return text.replace("Thank you, Ana", "Kind regards, Ana from the Shop Team")

    for i in range(42):
        bad = reply(others if i % 4 == 3 else refunds)
        m.pair(bad, signed(bad) + ("" if i % 4 == 3 else REFUND_NOTE))
    for i in range(160):
        if i % 4 == 2:  # answered after the sign-off was fixed in the prompt: good as logged
            m.log(signed(reply(others)))
            continue
        bad = reply(refunds if i % 4 == 0 else others)
        m.log(bad, signed(bad) + (REFUND_NOTE if i % 4 == 0 else ""))
    return m.family("replies that refund get a note; the condition is in the text, not the context")


def refund_notes_from_refunds_only(seed: int = 7) -> Family:
    """The refund note again, but reviewers only corrected refund replies: the pairs cannot tell which replies
    to leave alone; the uncorrected logs can (this is what the blast radius is for)."""
    m = _Maker("refund_only_reply", seed)
    refunds = ["we will refund you {amount} for order {order}.", "good news: we will refund you the shipping fee.",
               "sorry for the delay; we will refund you {amount} today.", "we will refund you in full, {name}."]
    others = ["your order {order} has shipped.", "order {order} is not eligible for a refund after 30 days.",
              "we have updated your address, {name}.", "a refund for order {order} was already issued to you.",
              "you can read our refund policy at https://shop.example.com/help#refunds."]

    def reply(templates: list[str]) -> str:
        body = m.rng.choice(templates).format(amount=f"${m.number(5, 300)}", order=m.number(), name=m.name())
        return f"Hello {m.name()}, {body}"

    for _ in range(36):
        bad = reply(refunds)
        m.pair(bad, bad + REFUND_NOTE)
    for i in range(150):
        if i % 5 == 0:
            bad = reply(refunds)
            m.log(bad, bad + REFUND_NOTE)
        else:
            m.log(reply(others))
    return m.family("the refund note learned from refund replies only; the logs show what to leave alone")


def ai_preambles(seed: int = 3) -> Family:
    """"As an AI language model, hello Mina, ..." -> "Hello Mina, ..."; "As requested" and "As an example" stay."""
    m = _Maker("assistant_reply", seed)
    openers = ["hello {name}, ", "hi {name}, ", "thanks for your message, {name}. ", "good morning {name}, ",
               "I checked your account, {name}, and "]
    bodies = ["your subscription renews next week.", "the export finished without errors.",
              "we reset your password.", "your invoice is attached.", "the outage is over."]
    goods = ["As requested, here is your invoice.", "As an example, a weekly export takes two minutes.",
             "This reply was drafted by an AI language model and checked by our team.",
             "Hello {name}, your invoice is attached.", "as discussed, the outage is over."]
    for _ in range(40):
        opener = m.rng.choice(openers).format(name=m.name())
        body = m.rng.choice(bodies)
        bad = f"As an AI language model, {opener}{body}"
        fixed = opener[0].upper() + opener[1:] + body
        m.pair(bad, fixed)
    for i in range(150):
        if i % 5 == 0:
            opener = m.rng.choice(openers).format(name=m.name())
            body = m.rng.choice(bodies)
            m.log(f"As an AI language model, {opener}{body}", opener[0].upper() + opener[1:] + body)
        else:
            m.log(m.rng.choice(goods).format(name=m.name()) + " " + m.rng.choice(bodies).capitalize())
    return m.family("a preamble removed and the next letter upper-cased, for any greeting and name")


def us_dates(seed: int = 4) -> Family:
    """US dates -> ISO dates (fields reordered); "24/7", "50/50", "3/4" and URL paths stay."""
    m = _Maker("schedule_notice", seed)
    with_date = ["Your appointment is on {d}.", "The invoice is due by {d}.", "Delivered {d} at the front door.",
                 "Your plan renews {d}.", "We received your return ({d}).", "From {d} to {e} the office is closed."]
    lookalikes = ["We offer 24/7 support.", "Revenue is split 50/50 with the partner.",
                  "About 3/4 of orders ship the same day.",
                  "History is at https://status.example.com/2025/03/14 for that week.", "Rated 4/5 by customers."]

    def date() -> tuple[str, str]:
        month, day, year = m.rng.randint(1, 12), m.rng.randint(1, 28), m.rng.choice([2024, 2025, 2026])
        return f"{month:02d}/{day:02d}/{year}", f"{year}-{month:02d}-{day:02d}"

    def notice() -> tuple[str, str]:
        (d, d_iso), (e, e_iso) = date(), date()
        template = m.rng.choice(with_date)
        return template.format(d=d, e=e), template.format(d=d_iso, e=e_iso)

    for i in range(40):
        bad, fixed = notice()
        extra = " " + m.rng.choice(lookalikes[:3]) if i % 3 == 0 else ""  # the URL path only shows in the logs
        m.pair(bad + extra, fixed + extra)
    for i in range(150):
        if i % 5 == 0:
            bad, fixed = notice()
            m.log(bad, fixed)
        elif i % 5 == 1:
            m.log(notice()[1])
        else:
            m.log(m.rng.choice(lookalikes))
    return m.family("MM/DD/YYYY becomes YYYY-MM-DD wherever a date is written")


def renamed_keys(seed: int = 5) -> Family:
    """JSON keys renamed (cust_name -> customer_name, cust_id -> customer_id); the old names in prose stay."""
    m = _Maker("crm_export", seed)
    plans = ["free", "pro", "team"]

    def record(old: bool) -> str:
        name, number = f"{m.name()} {m.rng.choice(['Lee', 'Ng', 'Ortiz', 'Berg'])}", m.number()
        prefix = "cust" if old else "customer"
        fields = [f'"{prefix}_name": "{name}"', f'"{prefix}_id": {number}', f'"plan": "{m.rng.choice(plans)}"']
        m.rng.shuffle(fields)
        return "{" + ", ".join(fields) + "}"

    prose = ['{"note": "the cust_name field was renamed last week", "status": "ok"}',
             '{"field": "cust_id", "action": "deprecated"}', "The cust_name column is empty for 3 rows."]
    for _ in range(40):
        bad = record(old=True)
        m.pair(bad, bad.replace('"cust_name"', '"customer_name"').replace('"cust_id"', '"customer_id"'))
    for i in range(144):
        if i % 4 == 0:
            bad = record(old=True)
            m.log(bad, bad.replace('"cust_name"', '"customer_name"').replace('"cust_id"', '"customer_id"'))
        elif i % 4 == 1:
            m.log(m.rng.choice(prose))
        else:
            m.log(record(old=False))
    return m.family("two JSON keys renamed; the old names mentioned as values or prose stay")


# Each misspelling in the sentences reviewers met it in (three different ones).
TYPOS: dict[str, tuple[str, list[str]]] = {
    "recieve": ("receive", ["You will {w} the code by email.", "Did you {w} our invoice?",
                            "Customers {w} a receipt after paying."]),
    "seperate": ("separate", ["Please keep the two accounts {w}.", "Use a {w} browser profile.",
                              "Log in with a {w} account."]),
    "definately": ("definitely", ["This is {w} a bug on our side.", "We will {w} call you back.",
                                  "The export {w} finished."]),
    "occured": ("occurred", ["The error {w} during the upgrade.", "A timeout {w} twice today.",
                             "Nothing unusual {w} on our side."]),
    "adress": ("address", ["Update the billing {w} in settings.", "Your {w} was saved.",
                           "We shipped to the old {w}."]),
    "untill": ("until", ["Wait {w} the sync ends.", "The offer runs {w} Sunday.", "Do not log out {w} it saves."]),
    "wich": ("which", ["Tell us {w} plan you use.", "Pick the file {w} failed.", "The page {w} loads slowly."]),
    "teh": ("the", ["Open {w} settings page.", "Restart {w} app once.", "Check {w} spam folder."]),
    "accomodate": ("accommodate", ["We can {w} a larger team.", "The plan can {w} ten users.",
                                   "We will try to {w} your request."]),
    "goverment": ("government", ["Some {w} portals need a PDF.", "The {w} form is attached.",
                                 "Local {w} rules apply."]),
    "tommorow": ("tomorrow", ["The fix ships {w}.", "Call us {w} morning.", "Your refund lands {w}."]),
    "beleive": ("believe", ["We {w} the issue is solved.", "I {w} this was a mistake.",
                            "We {w} the charge is correct."]),
}


def one_off_typos(seed: int = 6) -> Family:
    """Misspellings, each corrected in a few unrelated replies; identifiers like ``adress_line`` stay."""
    m = _Maker("help_answer", seed)
    words = list(TYPOS)
    goods = ["Fill in the adress_line field of the API.", "The teh_mode flag is internal.", "We will receive it soon.",
             "Your address is saved.", "Keep the folders separate."]

    def sentence(typo: str, occurrence: int) -> str:
        return TYPOS[typo][1][occurrence % 3].format(w=typo)

    def corrected(text: str) -> str:
        for wrong, (right, _) in TYPOS.items():
            text = _replace_word(text, wrong, right)
        return text

    for i in range(48):
        typo = words[i % len(words)]
        text = sentence(typo, i // len(words))
        if i % 4 == 3:  # a second sentence with another typo in some replies
            text += " " + sentence(words[(i * 5 + 1) % len(words)], i)
        bad = f"Hi {m.name()}. {text}"
        m.pair(bad, corrected(bad))
    for i in range(140):
        if i % 4 == 0:
            bad = f"Hi {m.name()}. " + sentence(m.rng.choice(words), m.rng.randint(0, 2))
            m.log(bad, corrected(bad))
        else:
            m.log(f"Hi {m.name()}. " + m.rng.choice(goods))
    return m.family("misspellings fixed wherever the word appears, each corrected in four or five pairs")


def _replace_word(text: str, wrong: str, right: str) -> str:
    return re.sub(rf"(?<!\w){wrong}(?!\w)", right, text)


FAMILIES: dict[str, Callable[[], Family]] = {
    "ticket_refs": ticket_references,
    "refund_note": refund_notes,
    "refund_only": refund_notes_from_refunds_only,
    "ai_preamble": ai_preambles,
    "us_dates": us_dates,
    "json_keys": renamed_keys,
    "typos": one_off_typos,
}
