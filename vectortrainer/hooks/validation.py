"""Checks a hook script must pass before it is written or restored (FR-5.4, VT-6).

1. `ast.parse`, then an allowlist of node types, imports and names;
2. the module must be exactly the generator's template with one string constant
   (the rules JSON) in the data slot, so nothing from user data is code;
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

from vectortrainer.errors import HookValidationError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.hooks.template import HOOK_FILENAME, RULES_VARIABLE, data_literal, render_hook
from vectortrainer.rules.model import RULE_KINDS
from vectortrainer.rules.replay import ReplayReport, score_replay
from vectortrainer.rules.safety import check_rule_safety

HOOK_DISPLAY_NAME = "<generated_prompt_hook>"
ALLOWED_IMPORTS = frozenset({"json", "re"})
ALLOWED_NODES: frozenset[type] = frozenset(
    {
        ast.Module, ast.Expr, ast.Constant, ast.Import, ast.alias, ast.Assign, ast.Name, ast.Store,
        ast.Load, ast.FunctionDef, ast.arguments, ast.arg, ast.Return, ast.If, ast.For, ast.Compare,
        ast.BoolOp, ast.And, ast.Or, ast.Not, ast.UnaryOp, ast.BinOp, ast.Mod, ast.Add, ast.Sub,
        ast.Call, ast.Attribute, ast.Subscript, ast.Slice, ast.Dict, ast.List, ast.Tuple, ast.IfExp,
        ast.Lambda, ast.Try, ast.ExceptHandler, ast.Continue, ast.keyword, ast.GeneratorExp,
        ast.comprehension, ast.In, ast.NotIn, ast.Eq, ast.NotEq, ast.Gt, ast.Lt, ast.GtE, ast.LtE,
        ast.Raise, ast.USub,
    }
)
FORBIDDEN_NAMES = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "__import__",
        "open",
        "getattr",
        "setattr",
        "delattr",
        "globals",
        "locals",
        "vars",
        "input",
        "breakpoint",
        "exit",
        "quit",
        "help",
        "memoryview",
        "__builtins__",
        "importlib",
        "os",
        "sys",
        "subprocess",
    }
)
def _check_allowlist(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if type(node) not in ALLOWED_NODES:
            raise HookValidationError(
                f"line {getattr(node, 'lineno', '?')}: "
                f"{type(node).__name__} is not allowed in a hook"
            )
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name not in ALLOWED_IMPORTS or alias.asname:
                    raise HookValidationError(
                        f"line {node.lineno}: import {alias.name} is not allowed in a hook"
                    )
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            raise HookValidationError(
                f"line {node.lineno}: name {node.id!r} is not allowed in a hook"
            )
        elif isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            raise HookValidationError(
                f"line {node.lineno}: attribute {node.attr!r} is not allowed in a hook"
            )


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
    # Everything but the data literal must be the template, node for node.
    literal.value = ""
    expected = ast.parse(render_hook(""))
    if ast.dump(tree) != ast.dump(expected):
        raise HookValidationError(
            "hook code differs from the generator's template (edited or tampered with)"
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
    with tempfile.TemporaryDirectory(prefix="vt-hook-check-") as folder:
        path = Path(folder) / HOOK_FILENAME
        path.write_text(source, encoding="utf-8")
        payload = json.dumps([p.to_dict() for p in pairs], ensure_ascii=True, default=str)
        try:
            completed = subprocess.run(
                [sys.executable, "-I", "-S", "-c", _DRIVER, str(path)],
                input=payload,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                cwd=folder,
                env={"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"},
            )
        except subprocess.TimeoutExpired:
            raise HookValidationError(
                f"importing and replaying the hook took more than {timeout_s:.0f} s"
            ) from None
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise HookValidationError(
            f"the hook failed to import or run in a clean interpreter: {last}"
        )
    result = json.loads(completed.stdout)
    report = score_replay(pairs, result["repaired"], result["good"])
    report.skipped_rules = result["skipped"]
    report.imported_modules = result["imported"]
    return report
