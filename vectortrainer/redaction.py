"""Nothing secret reaches disk or a screen: redaction of credential-looking keys and values.

Every record written to a run directory, every log line a monitor shows, every
one-line error and the CLI's ``--json`` output and stderr pass through
:func:`redact_secrets` / :func:`redact_text` (or :func:`to_json`, which also turns
paths, dataclasses and numpy values into plain JSON).

Three layers, applied to every string:

1. **by value**: the actual value of every configured secret, whatever it looks like:
   the environment variables each hosted provider's ``api_key_env`` names (the
   defaults, plus every name a loaded config gives, see :func:`register_secret_env`)
   and keys handed to a trainer directly (:func:`register_secret`);
2. **URL user info**: ``https://user:pass@host`` becomes ``https://***@host``;
3. **by shape**: values that look like known key formats (``sk-…``, ``Bearer …``, …).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import TextIO

from vectortrainer.json_types import JSONObject, JSONValue

_SECRET_KEY_PATTERN = re.compile(
    r"(api[_-]?key|secret|token|password|passwd|authorization|bearer)", re.IGNORECASE
)
# Keys that hold counts or names *about* tokens, not credentials.
_NOT_SECRET_KEYS = frozenset({"api_key_env", "tokens", "trained_tokens", "n_tokens", "total_tokens",
                              "train_tokens", "billed_tokens", "max_tokens", "tokens_per_example",
                              "tokens_per_epoch", "validation_tokens", "tokens_per_second",
                              "max_tokens_per_example"})
# Values shaped like credentials: OpenAI keys, bearer headers, GitHub/HF tokens, Fireworks (fw_) and
# Together (tgp_v1_) keys.
_SECRET_VALUE_PATTERN = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,}|gh[pousr]_[A-Za-z0-9]{16,}|hf_[A-Za-z0-9]{16,}"
    r"|fw_[A-Za-z0-9]{16,}|tgp_v1_[A-Za-z0-9_\-]{16,})"
)
REDACTED = "***"
# ``scheme://userinfo@``: user info never contains '/', '?', '#', '@' or whitespace unescaped.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^\s/?#@\"']+@")
# Shorter values are not redacted by value (they would blank ordinary words).
MIN_SECRET_LENGTH = 8
# The key variables of every hosted provider by default; a config's api_key_env names are added.
DEFAULT_SECRET_ENVS = (
    "OPENAI_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "TOGETHER_API_KEY",
    "FIREWORKS_API_KEY",
)
_secret_envs: set[str] = set(DEFAULT_SECRET_ENVS)
_secret_values: set[str] = set()
_lock = threading.Lock()


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def register_secret_env(name: str) -> None:
    """Redact, from now on, whatever value the environment variable ``name`` holds when text is
    written.

    A "name" that is no variable name or looks like a key (a key pasted where its variable's
    name belongs) is redacted itself too.
    """
    if not name:
        return
    with _lock:
        _secret_envs.add(name)
    if not _ENV_NAME.fullmatch(name) or looks_like_secret(name):
        register_secret(name)


def register_secret(value: str | None) -> None:
    """Redact ``value`` (a key handed over in code rather than through the environment) from now
    on."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _lock:
            _secret_values.add(value)


def known_secret_values() -> list[str]:
    """The secret values to redact now, longest first (so a key containing another is removed
    whole)."""
    with _lock:
        values = set(_secret_values)
        names = list(_secret_envs)
    for name in names:
        value = os.environ.get(name)
        if value and len(value.strip()) >= MIN_SECRET_LENGTH:
            values.add(value)
            values.add(value.strip())
    return sorted(values, key=len, reverse=True)


def strip_url_userinfo(text: str) -> str:
    """``text`` with the user info of every URL in it (``user:pass@``) replaced by ``***@``."""
    return _URL_USERINFO.sub(lambda match: f"{match.group('scheme')}{REDACTED}@", text)


def looks_like_secret(text: str) -> bool:
    """True when ``text`` has the shape of a credential (a known key format, or a long mixed
    token)."""
    if _SECRET_VALUE_PATTERN.search(text):
        return True
    for segment in re.split(r"[_\-.]", text):
        letters = any(c.isalpha() for c in segment)
        digits = any(c.isdigit() for c in segment)
        mixed_case = any(c.islower() for c in segment) and any(c.isupper() for c in segment)
        if len(segment) >= 20 and letters and digits:
            return True
        if len(segment) >= 16 and digits and mixed_case:
            return True
    return False


def redact_text(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with every known secret value, URL user info and credential-shaped value
    replaced."""
    for secret in known_secret_values() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if "://" in text:
        text = strip_url_userinfo(text)
    return _SECRET_VALUE_PATTERN.sub(REDACTED, text)


def redact_secrets(value: JSONValue) -> JSONValue:
    """A copy of ``value`` with secret values and credential-looking keys and values replaced by
    ``***``."""
    return _redact(value, known_secret_values())


def _redact(value: JSONValue, secrets: list[str]) -> JSONValue:
    if isinstance(value, dict):
        clean: JSONObject = {}
        for key, item in value.items():
            name = redact_text(str(key), secrets)
            if (
                name not in _NOT_SECRET_KEYS
                and _SECRET_KEY_PATTERN.search(name)
                and item not in (None, "", {}, [])
            ):
                if isinstance(item, (str, bytes)):
                    clean[name] = REDACTED
                    continue
            clean[name] = _redact(item, secrets)
        return clean
    if isinstance(value, (list, tuple)):
        return [_redact(item, secrets) for item in value]
    if isinstance(value, str):
        return redact_text(value, secrets)
    return value


def _json_default(value: object) -> JSONValue:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def to_plain(value: object) -> JSONValue:
    """``value`` as plain JSON data (dicts, lists, strings, numbers), secrets redacted."""
    return redact_secrets(json.loads(json.dumps(value, default=_json_default)))


def to_json(value: object, *, indent: int | None = None) -> str:
    """JSON text of ``value`` with secrets redacted (paths, dataclasses, numpy handled)."""
    return json.dumps(
        to_plain(value), indent=indent, ensure_ascii=False, sort_keys=indent is not None
    )


class RedactingStream:
    """A text stream that writes to ``sys.<name>`` (looked up at each write) with secrets redacted.

    For a console's ``file=``: everything a face prints on stderr passes :func:`redact_text`.
    """

    def __init__(self, name: str = "stderr") -> None:
        self._name = name

    @property
    def _target(self) -> TextIO:
        stream: TextIO = getattr(sys, self._name)
        # a Live display's proxy writes back to us
        target: TextIO = getattr(stream, "rich_proxied_file", stream)
        return target

    def write(self, text: str) -> int:
        return int(self._target.write(redact_text(text)))

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        return bool(getattr(self._target, "isatty", lambda: False)())

    def fileno(self) -> int:
        return int(self._target.fileno())

    @property
    def encoding(self) -> str:
        return getattr(self._target, "encoding", None) or "utf-8"
