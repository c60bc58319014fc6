"""Where the active hook and the promoted model live on disk: the names writers and the runtime
share. Both are per function: ``<hooks_dir>/<function>/`` and ``<models_dir>/<function>/``
(a hooks directory of the older one-hook layout keeps its hook at its top).

Standard library only, imported by :mod:`vectortrainer.runtime` in production
processes: nothing here may import a third-party package or another engine module.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import quote, unquote

DEFAULT_HOME = Path(".vectortrainer")  # where everything lives unless the config says otherwise
DEFAULT_FEEDBACK_PATH = DEFAULT_HOME / "feedback.jsonl"
HOOK_FILENAME = "generated_prompt_hook.py"  # the active hook, in the hooks directory
HOOK_VERSIONS_DIRNAME = ".hook_versions"
RULES_FILENAME = "rules.json"  # the rules of the active hook, beside it
MODEL_VERSIONS_DIRNAME = "versions"  # inside <models_dir>/<function>/
PROMOTED_FILENAME = "promoted.json"  # the promoted model's entry, inside <models_dir>/<function>/
MANIFEST_NAME = "manifest.json"

# A plain name is its own file name; every other name is encoded (see function_dirname).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")
MAX_NAME_LENGTH = 200  # characters of a function's file name (ASCII): room left for ".json"
_HASH_LENGTH = 32  # hex digits of SHA-256 that tell two shortened names apart
_SHORTENED = "~"  # sits before the hash of a shortened name; encoded everywhere else
_EMPTY_NAME = "%"  # no other name encodes to a lone "%" (an encoded "%" is "%25")


def function_dirname(function_name: str) -> str:
    """The one file name every path of ``function_name`` is built from (its models and hooks
    folders, its loop state file, its golden export).

    A plain name (letters, digits, ``_``, ``.`` and ``-``, not starting with ``.`` or ``-``, at
    most 200 characters) is itself, so existing stores keep their folders. Any other name is
    percent-encoded (``~`` and a leading ``.`` too), so it can never be ``.``, ``..``, empty, a
    path or a plain name; one longer than 200 characters encoded is cut and ends in ``~`` and a
    SHA-256 of the whole name. Two different names never share a file name: an encoded name
    decodes back to its name, and only a shortened one holds a ``~``.
    """
    if _PLAIN_NAME.fullmatch(function_name):
        return function_name
    if not function_name:
        return _EMPTY_NAME
    # surrogatepass: a name holding a lone surrogate still gets its own, reversible encoding
    encoded = quote(function_name, safe="", errors="surrogatepass").replace("~", "%7E")
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    if len(encoded) <= MAX_NAME_LENGTH:
        return encoded
    digest = hashlib.sha256(function_name.encode("utf-8", "surrogatepass")).hexdigest()
    keep = MAX_NAME_LENGTH - len(_SHORTENED) - _HASH_LENGTH
    cut = encoded[:keep]
    escape = cut.rfind("%", len(cut) - 2)
    if escape >= 0:  # never end the kept part inside an escape
        cut = cut[:escape]
    return f"{cut}{_SHORTENED}{digest[:_HASH_LENGTH]}"


def function_name_of(dirname: str) -> str | None:
    """The function whose :func:`function_dirname` ``dirname`` is; None for a shortened one (its
    name is not in it) or a name no function has."""
    if _SHORTENED in dirname:
        return None
    name = "" if dirname == _EMPTY_NAME else unquote(dirname, errors="surrogatepass")
    return name if function_dirname(name) == dirname else None


def function_filename(function_name: str, suffix: str) -> str:
    """``<function_dirname><suffix>``: a file of one function (``suffix`` such as ``.json``)."""
    return function_dirname(function_name) + suffix


def function_models_dir(models_dir: str | os.PathLike[str], function_name: str) -> Path:
    """``<models_dir>/<function>``: the versions and the promoted entry of one function."""
    return Path(models_dir) / function_dirname(function_name)


def function_hooks_dir(hooks_dir: str | os.PathLike[str], function_name: str) -> Path:
    """``<hooks_dir>/<function>``: the active hook, its versions and ``rules.json`` of one
    function (named as its models are)."""
    return Path(hooks_dir) / function_dirname(function_name)


def promoted_path(models_dir: str | os.PathLike[str], function_name: str) -> Path:
    """The file whose content is the promoted model's entry (rewritten atomically on promotion and
    rollback)."""
    return function_models_dir(models_dir, function_name) / PROMOTED_FILENAME
