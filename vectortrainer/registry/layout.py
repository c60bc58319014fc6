"""Where the active hook and the promoted model live on disk: the names writers and the runtime
share. Both are per function: ``<hooks_dir>/<function>/`` and ``<models_dir>/<function>/``
(a hooks directory of the older one-hook layout keeps its hook at its top).

Standard library only, imported by :mod:`vectortrainer.runtime` in production
processes: nothing here may import a third-party package or another engine module.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

HOOK_FILENAME = "generated_prompt_hook.py"  # the active hook, in the hooks directory
HOOK_VERSIONS_DIRNAME = ".hook_versions"
RULES_FILENAME = "rules.json"  # the rules of the active hook, beside it
MODEL_VERSIONS_DIRNAME = "versions"  # inside <models_dir>/<function>/
PROMOTED_FILENAME = "promoted.json"  # the promoted model's entry, inside <models_dir>/<function>/
MANIFEST_NAME = "manifest.json"

_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")


def function_dirname(function_name: str) -> str:
    """The directory name of a function's models: the name itself when it is plain, else
    percent-encoded."""
    if _PLAIN_NAME.match(function_name) and function_name not in (".", ".."):
        return function_name
    return quote(function_name, safe="")[:200] or "_"


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
