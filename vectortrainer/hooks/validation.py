"""Checks a hook script must pass before it is written or restored (FR-5.4, VT-6).

1. `ast.parse`, then an allowlist of node types, imports and names;
2. the module must be exactly the generator's template with one string constant
   (the rules JSON) in the data slot, so nothing from user data is code;
3. the rules JSON must parse and every regex must be linear-time (`check_regex_safety`);
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vectortrainer.diffing import edit_distance
from vectortrainer.hooks.generator import RULES_VARIABLE, HookValidationError, render_hook
from vectortrainer.types import RULE_KINDS, FeedbackPair

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
        "eval", "exec", "compile", "__import__", "open", "getattr", "setattr", "delattr", "globals",
        "locals", "vars", "input", "breakpoint", "exit", "quit", "help", "memoryview", "__builtins__",
        "importlib", "os", "sys", "subprocess",
    }
)
_MAX_REPEATS = 16


def check_regex_safety(pattern: str) -> None:
    """Raise ValueError unless ``pattern`` can only match in linear time.

    Allowed: literals, character classes, anchors, groups, alternation outside
    repeats, and a repeat only over a single character-level item, never directly
    after another repeat; no backreferences. This rules out the nested and
    overlapping quantifiers of catastrophic backtracking (``(a+)+``, ``(a|a)*``, ``\\d+\\d+``).
    """
    try:
        import re._parser as sre_parse  # Python >= 3.11
    except ImportError:  # pragma: no cover - older Pythons
        import sre_parse  # type: ignore[no-redef]
    from re import _constants as c

    try:
        parsed = sre_parse.parse(pattern)
    except Exception as exc:  # re.error and friends
        raise ValueError(f"does not compile: {exc}") from None
    single = {c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN, c.CATEGORY}
    repeats = {c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", c.MAX_REPEAT)}
    count = 0

    def walk(items: Any) -> None:
        nonlocal count
        previous_was_repeat = False
        for op, arg in items:
            if op in repeats:
                count += 1
                low, high, body = arg
                if previous_was_repeat:
                    raise ValueError("two quantifiers in a row can backtrack polynomially")
                if len(body) != 1 or body[0][0] not in single:
                    raise ValueError("a quantifier may only repeat a single character or class")
                previous_was_repeat = True
                continue
            previous_was_repeat = False
            if op in (c.GROUPREF, getattr(c, "GROUPREF_EXISTS", None)):
                raise ValueError("backreferences are not allowed")
            if op == c.SUBPATTERN:
                walk(arg[-1])
                previous_was_repeat = bool(arg[-1].data) and arg[-1].data[-1][0] in repeats
            elif op in (c.ASSERT, c.ASSERT_NOT):
                walk(arg[1])
            elif op == c.BRANCH:
                for branch in arg[1]:
                    walk(branch)
            elif op == getattr(c, "ATOMIC_GROUP", None):
                walk(arg)

    walk(parsed)
    if count > _MAX_REPEATS:
        raise ValueError(f"more than {_MAX_REPEATS} quantifiers")


def _data_literal(tree: ast.Module) -> ast.Constant:
    """The single ``RULES_JSON = "<string>"`` assignment's constant."""
    found = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == RULES_VARIABLE for t in node.targets)
    ]
    if len(found) != 1:
        raise HookValidationError(f"hook must assign {RULES_VARIABLE} exactly once at module level, found {len(found)}")
    value = found[0].value
    if not (isinstance(value, ast.Constant) and isinstance(value.value, str)) or len(found[0].targets) != 1:
        raise HookValidationError(f"{RULES_VARIABLE} must be a single plain string literal")
    return value


def _check_allowlist(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if type(node) not in ALLOWED_NODES:
            raise HookValidationError(f"line {getattr(node, 'lineno', '?')}: {type(node).__name__} is not allowed in a hook")
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name not in ALLOWED_IMPORTS or alias.asname:
                    raise HookValidationError(f"line {node.lineno}: import {alias.name} is not allowed in a hook")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            raise HookValidationError(f"line {node.lineno}: name {node.id!r} is not allowed in a hook")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            raise HookValidationError(f"line {node.lineno}: attribute {node.attr!r} is not allowed in a hook")


def validate_hook_source(source: str) -> int:
    """Run checks 1-4 on ``source``; returns the number of embedded rules or raises `HookValidationError`."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as exc:
        raise HookValidationError(f"hook does not parse: {exc}") from None
    _check_allowlist(tree)
    literal = _data_literal(tree)
    document_text = literal.value
    if not document_text.isascii():
        raise HookValidationError(f"{RULES_VARIABLE} must be ASCII JSON")
    # Everything but the data literal must be the template, node for node.
    literal.value = ""
    expected = ast.parse(render_hook(""))
    if ast.dump(tree) != ast.dump(expected):
        raise HookValidationError("hook code differs from the generator's template (edited or tampered with)")
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
        if rule["kind"] == "regex_replace":
            try:
                check_regex_safety(str(rule.get("pattern", "")))
            except ValueError as exc:
                raise HookValidationError(f"rule {index}: unsafe regex: {exc}") from None
    try:
        compile(source, HOOK_DISPLAY_NAME, "exec")
    except (SyntaxError, ValueError) as exc:
        raise HookValidationError(f"hook does not compile: {exc}") from None
    return len(rules)


HOOK_DISPLAY_NAME = "<generated_prompt_hook>"


def rules_count_of(source: str) -> int | None:
    """The number of rules a hook embeds, read from its data literal without running it (None if unreadable)."""
    try:
        document = json.loads(_data_literal(ast.parse(source)).value)
        return len(document["rules"])
    except (SyntaxError, ValueError, KeyError, TypeError, HookValidationError):
        return None


@dataclass
class ReplayReport:
    """How a hook does on feedback pairs: repairs of bad outputs, and harm to good ones."""

    pairs: int = 0
    exact_fixes: int = 0
    mean_repair: float = 0.0  # mean normalised edit-distance reduction over pairs that needed a fix
    distance_before: int = 0
    distance_after: int = 0
    good_changed: list[int] = field(default_factory=list)
    not_fixed: list[int] = field(default_factory=list)
    skipped_rules: list[dict[str, Any]] = field(default_factory=list)
    imported_modules: list[str] = field(default_factory=list)

    @property
    def exact_fix_rate(self) -> float:
        return self.exact_fixes / self.pairs if self.pairs else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "exact_fixes": self.exact_fixes,
            "exact_fix_rate": round(self.exact_fix_rate, 4),
            "mean_repair": round(self.mean_repair, 4),
            "distance_before": self.distance_before,
            "distance_after": self.distance_after,
            "good_changed": self.good_changed,
            "not_fixed": self.not_fixed,
            "skipped_rules": self.skipped_rules,
        }


def score_replay(
    pairs: Sequence[FeedbackPair], repaired: Sequence[str], good_after: Sequence[str]
) -> ReplayReport:
    """Compare the hook's outputs with the fixes: repair rate, exact fixes, good outputs changed."""
    report = ReplayReport(pairs=len(pairs))
    reductions = []
    for index, (pair, after, good) in enumerate(zip(pairs, repaired, good_after)):
        before_d = edit_distance(pair.bad_output, pair.fixed_output)
        after_d = edit_distance(after, pair.fixed_output)
        report.distance_before += before_d
        report.distance_after += after_d
        if after == pair.fixed_output:
            report.exact_fixes += 1
        else:
            report.not_fixed.append(index)
        if before_d:
            reductions.append((before_d - after_d) / before_d)
        if good != pair.fixed_output:
            report.good_changed.append(index)
    report.mean_repair = sum(reductions) / len(reductions) if reductions else 1.0
    return report


# Runs in a fresh `python -I -S`: imports the hook by path, replays pairs from stdin.
_DRIVER = r"""
import importlib.util, json, sys
before = set(sys.modules)
spec = importlib.util.spec_from_file_location("generated_prompt_hook", sys.argv[1])
hook = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hook)
imported = sorted(set(sys.modules) - before)
pairs = json.loads(sys.stdin.read())
out = {"skipped": hook.SKIPPED_RULES, "imported": imported, "repaired": [], "good": [], "prompts": []}
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
    """Import ``source`` in a fresh standard-library-only interpreter and replay ``pairs`` through it."""
    with tempfile.TemporaryDirectory(prefix="vt-hook-check-") as folder:
        path = Path(folder) / "generated_prompt_hook.py"
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
            raise HookValidationError(f"importing and replaying the hook took more than {timeout_s:.0f} s") from None
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise HookValidationError(f"the hook failed to import or run in a clean interpreter: {last}")
    result = json.loads(completed.stdout)
    report = score_replay(pairs, result["repaired"], result["good"])
    report.skipped_rules = result["skipped"]
    report.imported_modules = result["imported"]
    return report
