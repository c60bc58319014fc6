"""What a provider answered, checked before anything of it is kept or acted on (issue 29).

The SDKs hand back what the server sent even when it is not what the API promises: a
body that is not JSON comes back as its text (a proxy's HTML page, with status 200), and
``{}`` as an object whose fields all read None. Kept as a file or job id, such an answer
poisons every later resume; taken for an empty listing, it would pay for a second job.
So, before anything is stored or decided:

- an id is read through :meth:`AnswerCheck.id`: a string of the provider's own shape
  (``file-...``, ``ftjob-...``), else the call stops with one line naming the provider,
  what it answered and what to do; nothing of it reaches ``run.json``;
- a listing that decides whether to upload or create something is read through
  :meth:`AnswerCheck.listing`: a page of objects, else the same one line;
- a model name through :meth:`AnswerCheck.model_name`;
- a status that is not one the provider documents is
  :attr:`~vectortrainer.training.base.TrainingStatus.UNKNOWN`, which the job's follower
  waits out for a bounded number of polls (:mod:`vectortrainer.training.following`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from vectortrainer.errors import ProviderAnswerError

MAX_ID_LENGTH = 256
SHOWN_CHARS = 80  # of an answer, in a message
# What a fine-tuned model's name may hold at any provider (ft:base:org:suffix:id, user/model,
# accounts/a/models/m): no spaces, no control characters, nothing a path or a line could break on.
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,255}")


def field_of(answer: Any, name: str) -> Any:
    """``answer.name`` (``answer[name]`` of a dict), or None for an answer that is no object (text
    that was not JSON, nothing)."""
    if isinstance(answer, dict):
        return answer.get(name)
    if not is_object(answer):
        return None
    return getattr(answer, name, None)


def is_object(answer: Any) -> bool:
    """Whether ``answer`` is an object the SDK parsed from JSON (not text, not nothing)."""
    return answer is not None and not isinstance(answer, (str, bytes, int, float, list, tuple))


def describe_answer(answer: Any) -> str:
    """A short, one-line account of ``answer`` for a message: its kind and its first characters."""
    if answer is None:
        return "nothing"
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", errors="replace")
    if isinstance(answer, str):
        text = " ".join(answer.split())
        if not text:
            return "an empty body"
        kind = "an HTML page" if text.startswith("<") else "text that is not JSON"
        return f"{kind} ({_shorten(text)!r})"
    dump = getattr(answer, "model_dump", None)
    try:
        data = dump(mode="json", exclude_unset=True, warnings=False) if callable(dump) else answer
        shown = json.dumps(data, default=str, ensure_ascii=True, sort_keys=True)
    except (TypeError, ValueError):
        shown = repr(answer)
    return _shorten(" ".join(shown.split()))


def _shorten(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


@dataclass(frozen=True)
class AnswerCheck:
    """The checks of one provider's answers; errors name the provider and its config section."""

    provider: str  # "OpenAI", "Together AI", ... (for messages)
    url_setting: str  # where the user fixes the URL ("openai.base_url", "azure.endpoint")

    def refuse(self, answer: Any, *, action: str, wanted: str) -> ProviderAnswerError:
        """The one line for ``answer`` to ``action`` that is not ``wanted``."""
        return ProviderAnswerError(
            f"{self.provider} answered {action} with {describe_answer(answer)}, not {wanted}; "
            f"nothing of it was saved. Check that {self.url_setting} is the "
            f"provider's API (not a proxy or a web page), then resume the run"
        )

    def id(self, answer: Any, pattern: re.Pattern[str], *, action: str, wanted: str,
           field: str = "id") -> str:
        """``answer``'s ``field`` when it is an id of ``pattern``'s shape; else the one line."""
        value = field_of(answer, field)
        if isinstance(value, str) and len(value) <= MAX_ID_LENGTH and pattern.fullmatch(value):
            return value
        raise self.refuse(answer, action=action, wanted=wanted)

    def listing(self, answer: Any, *, action: str, wanted: str) -> list[Any]:
        """The items of a listing ``answer`` (a list, an object holding one in ``data``, or an SDK
        page, every page of it), all objects; else the one line. An answer that is no listing
        (``{}``, a page of text) is never taken for an empty one: that would upload or pay twice."""
        data = answer if isinstance(answer, list) else field_of(answer, "data")
        if not isinstance(data, list):
            raise self.refuse(answer, action=action, wanted=wanted)
        items = data
        if hasattr(answer, "iter_pages"):  # an SDK page: iterating fetches the pages after it
            items = list(answer)
        if not all(is_object(item) for item in items):
            raise self.refuse(answer, action=action, wanted=wanted)
        return items

    def model_name(self, answer: Any, value: Any, *, action: str) -> str | None:
        """The fine-tuned model's name ``value`` (None stays None) when it is a model name."""
        if value is None:
            return None
        if isinstance(value, str) and MODEL_NAME.fullmatch(value):
            return value
        raise self.refuse(answer, action=action, wanted="a model name")


def newest(items: list[Any], *, check: AnswerCheck, action: str) -> Any:
    """The item with the latest ``created_at``; one without a time is only fine when alone (else
    which one is the run's cannot be told, and guessing could follow or pay for the wrong job)."""
    if len(items) == 1:
        return items[0]
    times = [field_of(item, "created_at") for item in items]
    if any(t is None or isinstance(t, (str, bool)) for t in times):
        missing = next(item for item, t in zip(items, times, strict=True)
                       if t is None or isinstance(t, (str, bool)))
        raise ProviderAnswerError(
            f"{check.provider} listed {len(items)} jobs for {action}, one of them without a "
            f"created_at ({describe_answer(missing)}), so which one is the newest cannot be "
            f"told; nothing was created. Cancel the jobs you do not want at {check.provider}, "
            f"then resume the run"
        )
    try:
        return items[max(range(len(items)), key=lambda i: times[i])]
    except TypeError:  # times of different kinds (a number and a date)
        raise ProviderAnswerError(
            f"{check.provider} listed {len(items)} jobs for {action} with created_at values "
            f"that cannot be compared; nothing was created. Cancel the jobs you do not want at "
            f"{check.provider}, then resume the run"
        ) from None
