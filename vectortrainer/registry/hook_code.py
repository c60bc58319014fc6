"""What code a hook may hold: the allowlist checked before a hook is written
(:mod:`vectortrainer.hooks.validation`) and again when a production process loads one
(:mod:`vectortrainer.runtime`).

Standard library only, imported by the runtime in production processes: nothing here may import a
third-party package or another engine module.

A hook is the generator's template (rules as data, a fixed interpreter). The checks allow the
constructs that template uses and nothing that reaches beyond the hook's own namespace:

- node types from :data:`ALLOWED_NODES` (no ``while``, class, ``global``, star, f-string,
  multiplication or power: nothing that loops without an end or builds a huge value);
- ``import json`` / ``import re`` only;
- a builtin name only from :data:`SAFE_BUILTINS`, never rebound (so ``except KeyError`` means
  the builtin), no dunder names or attributes, and attributes only from :data:`SAFE_ATTRIBUTES`
  (the public methods of text, encoded text, containers and regex matches, and ``json``/``re``
  functions), never assigned: a hook cannot patch ``builtins`` or a module, or walk to ``os``,
  ``sys`` or a frame;
- ``except`` names only narrow errors (:data:`SAFE_HANDLERS`): nothing catches ``RecursionError``
  or the runtime's own stop;
- functions only at module level, and none that can reach itself through the module's names
  (no recursion).

What the checks cannot prove is that every loop ends soon: a loop over a list it grows, or a slow
regex in the rules, passes them. A file is run only when our writer's manifest vouches for its
bytes (the writer checked the exact template and that every regex runs in linear time), and the
runtime stops an import that runs past its time.
"""

from __future__ import annotations

import ast
import builtins
import re

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
        "locals", "vars", "input", "breakpoint", "exit", "quit", "help", "memoryview",
        "__builtins__", "importlib", "os", "sys", "subprocess",
    }
)
_EXCEPTIONS = frozenset(
    name for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)
# Pure functions and types. Not iter/next/range/map/filter (an endless or huge iteration from a
# small file), type/object/super/hasattr (a way around the attribute allowlist), print, id, hash.
SAFE_BUILTINS = frozenset(
    {
        "str", "int", "float", "bool", "dict", "list", "tuple", "set", "frozenset", "len",
        "isinstance", "all", "any", "enumerate", "zip", "sorted", "reversed", "min", "max", "sum",
        "abs", "repr", "ascii", "chr", "ord", "round", "callable", "None", "True", "False",
    }
) | _EXCEPTIONS  # raising any of them is harmless: the runtime catches all at the hook boundary
# Narrow errors only: a wider one (Exception, RuntimeError) would also catch RecursionError.
SAFE_HANDLERS = frozenset(
    {
        "KeyError", "IndexError", "LookupError", "TypeError", "ValueError", "AttributeError",
        "UnicodeError", "UnicodeDecodeError", "UnicodeEncodeError", "ZeroDivisionError",
        "OverflowError", "re.error", "json.JSONDecodeError",
    }
)
_MODULE_ATTRIBUTES = frozenset(
    {
        "loads", "dumps", "JSONDecodeError",  # json
        "compile", "escape", "match", "fullmatch", "search", "sub", "subn", "split", "findall",
        "finditer", "error", "Pattern", "Match", "A", "ASCII", "I", "IGNORECASE", "M",
        "MULTILINE", "S", "DOTALL", "X", "VERBOSE", "U", "UNICODE", "NOFLAG",  # re
    }
)
# format/format_map read any attribute named in the text; scanner is also json's submodule.
SAFE_ATTRIBUTES = _MODULE_ATTRIBUTES | frozenset(
    name
    for kind in (str, bytes, dict, list, tuple, set, frozenset, re.Pattern, re.Match)
    for name in dir(kind)
    if not name.startswith("_") and name not in {"format", "format_map", "scanner"}
)
_BUILTIN_NAMES = frozenset(dir(builtins))
# the container methods that keep their argument: what they store is followed for recursion
_STORING_METHODS = frozenset({"append", "extend", "insert", "update", "setdefault", "add"})


class HookCodeError(ValueError):
    """A hook holds code outside the allowlist; the message names the line and the construct."""


def check_hook_code(tree: ast.AST) -> None:
    """Raise :class:`HookCodeError` unless ``tree`` (a parsed hook) keeps to the allowlist."""
    # Walked once, statement by statement: the runtime checks every new version it loads.
    top_level: list[ast.stmt] = tree.body if isinstance(tree, ast.Module) else []
    inside = [list(ast.walk(statement)) for statement in top_level]
    nodes = [tree, *(node for group in inside for node in group)] if top_level else [tree]
    for node in nodes:  # the checks validation always made, first, with their messages
        _check_node(node)
    for node in nodes:
        _check_name_or_attribute(node, top_level)
    _check_no_recursion(top_level, inside)


def _line(node: ast.AST) -> str:
    return f"line {getattr(node, 'lineno', '?')}"


def _check_node(node: ast.AST) -> None:
    if type(node) not in ALLOWED_NODES:
        raise HookCodeError(f"{_line(node)}: {type(node).__name__} is not allowed in a hook")
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name not in ALLOWED_IMPORTS or alias.asname:
                raise HookCodeError(
                    f"{_line(node)}: import {alias.name} is not allowed in a hook"
                )
    elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
        raise HookCodeError(f"{_line(node)}: name {node.id!r} is not allowed in a hook")
    elif isinstance(node, ast.Attribute) and node.attr.startswith("__"):
        raise HookCodeError(f"{_line(node)}: attribute {node.attr!r} is not allowed in a hook")


def _check_name_or_attribute(node: ast.AST, top_level: list[ast.stmt]) -> None:
    if isinstance(node, ast.Name):
        _check_name(node, node.id, bound=not isinstance(node.ctx, ast.Load))
    elif isinstance(node, ast.Attribute):
        if not isinstance(node.ctx, ast.Load):
            raise HookCodeError(f"{_line(node)}: a hook may not assign an attribute")
        if node.attr not in SAFE_ATTRIBUTES:
            raise HookCodeError(f"{_line(node)}: attribute {node.attr!r} is not allowed in a hook")
    elif isinstance(node, ast.arg):
        _check_name(node, node.arg, bound=True)
    elif isinstance(node, ast.FunctionDef):
        if node not in top_level:
            raise HookCodeError(f"{_line(node)}: a hook defines functions at its top only")
        _check_name(node, node.name, bound=True)
    elif isinstance(node, ast.ExceptHandler):
        _check_handler(node)
    elif isinstance(node, ast.Import) and node not in top_level:
        raise HookCodeError(f"{_line(node)}: a hook imports at its top only")


def _check_name(node: ast.AST, name: str, *, bound: bool) -> None:
    if name.startswith("__"):
        raise HookCodeError(f"{_line(node)}: name {name!r} is not allowed in a hook")
    if name in _BUILTIN_NAMES and (bound or name not in SAFE_BUILTINS):
        what = "may not be rebound" if bound else "is not allowed"
        raise HookCodeError(f"{_line(node)}: builtin {name!r} {what} in a hook")


def _check_handler(handler: ast.ExceptHandler) -> None:
    caught = handler.type
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    for name in names:
        text = ast.unparse(name) if isinstance(name, (ast.Name, ast.Attribute)) else ""
        if text not in SAFE_HANDLERS:
            what = "a bare except" if name is None else f"except {text or ast.unparse(name)}"
            raise HookCodeError(
                f"{_line(handler)}: {what} is not allowed in a hook (only narrow errors)"
            )
    if handler.name is not None:
        _check_name(handler, handler.name, bound=True)


def _check_no_recursion(top_level: list[ast.stmt], inside: list[list[ast.AST]]) -> None:
    """No function reaches itself through the module's names.

    Each module-level function and assigned name is a node; its edges are the module-level names
    its body (lambdas included) or its value names, and those that anything stored into it
    (``NAME[k] = v``, ``NAME.append(v)``) names. A cycle through a function, or through a name
    holding a lambda, is refused. Data flowing through arguments is not followed: such recursion
    still ends at Python's recursion limit, whose ``RecursionError`` no handler a hook may write
    catches.
    """
    where: dict[str, ast.AST] = {}
    for statement in top_level:
        if isinstance(statement, ast.FunctionDef):
            where[statement.name] = statement
        elif isinstance(statement, ast.Assign):
            for target in statement.targets:
                for node in ast.walk(target):
                    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                        where.setdefault(node.id, statement)
    edges: dict[str, set[str]] = {name: set() for name in where}
    callable_nodes = {name for name, node in where.items() if isinstance(node, ast.FunctionDef)}

    def refer(owners: set[str], nodes: list[ast.AST]) -> None:
        for node in nodes:
            if isinstance(node, ast.Name) and node.id in where:
                for owner in owners:
                    edges[owner].add(node.id)
            elif isinstance(node, ast.Lambda):
                callable_nodes.update(owners)

    for statement, nodes in zip(top_level, inside, strict=True):
        if isinstance(statement, ast.FunctionDef):
            refer({statement.name}, nodes)
        elif isinstance(statement, ast.Assign):
            owners = {n.id for t in statement.targets for n in ast.walk(t)
                      if isinstance(n, ast.Name)} & set(where)
            refer(owners, list(ast.walk(statement.value)))
        for node in nodes:  # what is stored into a module-level name, from anywhere
            stored: list[tuple[ast.AST, ast.AST]] = []
            if isinstance(node, ast.Assign):
                stored = [(target, node.value) for outer in node.targets
                          for target in ast.walk(outer) if isinstance(target, ast.Subscript)
                          and isinstance(target.ctx, ast.Store)]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in _STORING_METHODS:
                stored = [(node.func.value, argument)
                          for argument in [*node.args, *(k.value for k in node.keywords)]]
            for into, value in stored:
                root = _root_name(into)
                if root is not None and root in where:
                    refer({root}, list(ast.walk(value)))
    for start in sorted(callable_nodes):
        if _reaches(edges, start, start):
            raise HookCodeError(
                f"{_line(where[start])}: {start} can call itself (recursion is "
                "not allowed in a hook)"
            )


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    seen: set[str] = set()
    stack = list(edges.get(start, ()))
    while stack:
        name = stack.pop()
        if name == goal:
            return True
        if name not in seen:
            seen.add(name)
            stack.extend(edges.get(name, ()))
    return False
