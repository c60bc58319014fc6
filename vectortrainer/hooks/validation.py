"""Checks a hook script must pass before it is written or restored (FR-5.4, VT-6).

1. `ast.parse`, then an allowlist of node types, imports, names and attributes (shared with the
   runtime, which checks it again at load: :mod:`vectortrainer.registry.hook_code`);
2. the module must be exactly the generator's template with one string constant
   (the rules JSON) in the data slot, so nothing from user data is code (or, for a hook an
   earlier version wrote, exactly that version's template:
   :mod:`vectortrainer.hooks.templates_seen`);
3. the rules JSON must parse and every regex (patterns and text conditions) must be linear-time
   (`check_rule_safety`);
4. `compile`;
5. an import in a fresh interpreter without site-packages (`-I -S`: proves it is
   standard-library only), which also replays feedback pairs through the hook.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vectortrainer.errors import HookValidationError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.hooks.template import (
    HOOK_FILENAME,
    RULES_VARIABLE,
    data_literal,
    render_hook,
    template_fingerprint,
)
from vectortrainer.hooks.templates_seen import TEMPLATE_FINGERPRINTS
from vectortrainer.json_types import JSONObject
from vectortrainer.registry.hook_code import (
    ALLOWED_IMPORTS,
    ALLOWED_NODES,
    FORBIDDEN_NAMES,
    HookCodeError,
    check_hook_code,
)
from vectortrainer.rules.model import RULE_KINDS
from vectortrainer.rules.replay import ReplayReport, score_replay
from vectortrainer.rules.safety import check_rule_safety

HOOK_DISPLAY_NAME = "<generated_prompt_hook>"
__all__ = ["ALLOWED_IMPORTS", "ALLOWED_NODES", "FORBIDDEN_NAMES", "HOOK_DISPLAY_NAME",
           "apply_to_outputs", "replay_in_subprocess", "validate_hook_source"]


def _check_allowlist(tree: ast.AST) -> None:
    # the same check the runtime makes when it loads a hook (vectortrainer.registry.hook_code)
    try:
        check_hook_code(tree)
    except HookCodeError as exc:
        raise HookValidationError(str(exc)) from None


def validate_hook_source(source: str) -> int:
    """Run checks 1-4 on ``source``; returns the number of embedded rules or raises
    `HookValidationError`."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as exc:
        raise HookValidationError(f"hook does not parse: {exc}") from None
    _check_allowlist(tree)
    literal, document_text = data_literal(tree)
    if not document_text.isascii():
        raise HookValidationError(f"{RULES_VARIABLE} must be ASCII JSON")
    # Everything but the data literal must be the template, node for node, or exactly the text
    # of a template an earlier version wrote (a hook version saved before an upgrade).
    literal.value = ""
    expected = ast.parse(render_hook(""))
    if ast.dump(tree) != ast.dump(expected) and \
            template_fingerprint(source) not in TEMPLATE_FINGERPRINTS:
        raise HookValidationError(
            "hook code differs from the generator's template and from every earlier version's "
            "(edited or tampered with)"
        )
    try:
        document = json.loads(document_text)
    except json.JSONDecodeError as exc:
        raise HookValidationError(f"{RULES_VARIABLE} is not valid JSON: {exc.msg}") from None
    rules = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(rules, list):
        raise HookValidationError(f"{RULES_VARIABLE} must hold an object with a 'rules' list")
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict) or rule.get("kind") not in RULE_KINDS:
            raise HookValidationError(f"rule {index}: unknown or missing kind")
        try:
            check_rule_safety(rule)
        except ValueError as exc:
            raise HookValidationError(f"rule {index}: unsafe regex: {exc}") from None
    try:
        compile(source, HOOK_DISPLAY_NAME, "exec")
    except (SyntaxError, ValueError) as exc:
        raise HookValidationError(f"hook does not compile: {exc}") from None
    return len(rules)


# Runs in a fresh `python -I -S`: imports the hook by path, replays pairs from stdin.
_DRIVER = r"""
import importlib.util, json, sys
before = set(sys.modules)
spec = importlib.util.spec_from_file_location("generated_prompt_hook", sys.argv[1])
hook = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hook)
imported = sorted(set(sys.modules) - before)
pairs = json.loads(sys.stdin.read())
out = {"skipped": hook.SKIPPED_RULES, "imported": imported,
       "repaired": [], "good": [], "prompts": []}
for p in pairs:
    ctx = p["context"]
    out["repaired"].append(hook.intercept_output(p["bad_output"], ctx))
    out["good"].append(hook.intercept_output(p["fixed_output"], ctx))
    out["prompts"].append(hook.intercept_prompt(p["input_prompt"], ctx))
sys.stdout.write(json.dumps(out))
"""


def replay_in_subprocess(
    source: str, pairs: Sequence[FeedbackPair], *, timeout_s: float = 30.0
) -> ReplayReport:
    """Import ``source`` in a fresh standard-library-only interpreter and replay ``pairs`` through
    it."""
    payload = json.dumps([p.to_dict() for p in pairs], ensure_ascii=True, default=str)
    result = _run_driver(source, _DRIVER, payload, timeout_s,
                         "importing and replaying the hook", "to import or run")
    report = score_replay(pairs, result["repaired"], result["good"])
    report.skipped_rules = result["skipped"]
    report.imported_modules = result["imported"]
    return report


def _run_driver(source: str, driver: str, payload: str, timeout_s: float, doing: str,
                failing: str) -> Any:
    """``driver`` run on the hook ``source`` in a fresh ``python -I -S`` with ``payload`` on its
    stdin; its JSON answer. ``doing`` / ``failing`` word the errors."""
    with tempfile.TemporaryDirectory(prefix="vt-hook-check-") as folder:
        path = Path(folder) / HOOK_FILENAME
        path.write_text(source, encoding="utf-8")
        try:
            completed = subprocess.run(
                [sys.executable, "-I", "-S", "-c", driver, str(path)],
                input=payload,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                cwd=folder,
                env={"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"},
            )
        except subprocess.TimeoutExpired:
            raise HookValidationError(f"{doing} took more than {timeout_s:.0f} s") from None
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise HookValidationError(
            f"the hook failed {failing} in a clean interpreter: {last}"
        )
    return json.loads(completed.stdout)


# Runs in a fresh `python -I -S`: the hook's output transform over (output, context) pairs.
_OUTPUTS_DRIVER = r"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("generated_prompt_hook", sys.argv[1])
hook = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hook)
items = json.loads(sys.stdin.read())
out = []
for text, ctx in items:
    try:
        changed = hook.intercept_output(text, ctx)
    except Exception:
        changed = None
    out.append(changed if isinstance(changed, str) else text)
sys.stdout.write(json.dumps(out))
"""


def apply_to_outputs(source: str, outputs: Sequence[str], contexts: Sequence[JSONObject], *,
                     timeout_s: float = 30.0) -> list[str]:
    """Each output as production returns it: through the hook ``source``'s output transform with
    its context, in a fresh standard-library-only interpreter (an output the hook fails on stays
    as it was, as the runtime keeps it)."""
    payload = json.dumps([[o, c] for o, c in zip(outputs, contexts, strict=True)],
                         ensure_ascii=True, default=str)
    changed = _run_driver(source, _OUTPUTS_DRIVER, payload, timeout_s,
                          f"applying the hook to {len(outputs)} outputs", "to import")
    return [str(text) for text in changed]
