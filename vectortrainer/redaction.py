"""Nothing secret reaches disk or a screen: redaction of credential-looking keys and values.

Every record written to a run directory, every log line a monitor shows and every
one-line error passes through :func:`redact_secrets` (or :func:`to_json`, which
also turns paths, dataclasses and numpy values into plain JSON).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

_SECRET_KEY_PATTERN = re.compile(r"(api[_-]?key|secret|token|password|passwd|authorization|bearer)", re.IGNORECASE)
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


def redact_secrets(value: Any) -> Any:
    """A copy of ``value`` with credential-looking keys and values replaced by ``***``."""
    if isinstance(value, dict):
        clean: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            if name not in _NOT_SECRET_KEYS and _SECRET_KEY_PATTERN.search(name) and item not in (None, "", {}, []):
                if isinstance(item, (str, bytes)):
                    clean[name] = REDACTED
                    continue
            clean[name] = redact_secrets(item)
        return clean
    if isinstance(value, (list, tuple)):
        return [redact_secrets(item) for item in value]
    if isinstance(value, str):
        return _SECRET_VALUE_PATTERN.sub(REDACTED, value)
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def to_plain(value: Any) -> Any:
    """``value`` as plain JSON data (dicts, lists, strings, numbers), secrets redacted."""
    return redact_secrets(json.loads(json.dumps(value, default=_json_default)))


def to_json(value: Any, *, indent: int | None = None) -> str:
    """JSON text of ``value`` with secrets redacted (paths, dataclasses, numpy handled)."""
    return json.dumps(to_plain(value), indent=indent, ensure_ascii=False, sort_keys=indent is not None)
