"""The rule interpreter every generated hook carries, verbatim (standard library only).

The lines between the two markers are copied into each `generated_prompt_hook.py`;
the engine imports this module to replay rules exactly as the hook will. Rules are
data (a JSON document): literal patterns are escaped before they become regexes,
and nothing here turns rule text into code.
"""

# --- hook runtime begins ---
import json
import re

_MAX_PATTERN_CHARS = 4000
_HORIZONTAL_SPACE = re.compile(r"[ \t]+")
_SPACE_BEFORE_NEWLINE = re.compile(r" +\n")
_GROUP_REFERENCE = re.compile(r"\\g<([^>]*)>")
_KINDS_WITH_PATTERN = ("replace", "remove", "case_fix", "regex_replace", "strip_prefix", "strip_suffix")
_KINDS = _KINDS_WITH_PATTERN + ("append", "prepend", "normalize_whitespace")


def _literal_matcher(text, ignore_case):
    """A regex for ``text`` as a literal, with word boundaries where its ends are word characters."""
    left = r"(?<!\w)" if re.match(r"\w", text[0]) else ""
    right = r"(?!\w)" if re.match(r"\w", text[-1]) else ""
    return re.compile(left + re.escape(text) + right, re.IGNORECASE if ignore_case else 0)


def _compile_rule(rule):
    kind = rule["kind"]
    pattern = rule.get("pattern", "")
    replacement = rule.get("replacement", "")
    target = rule.get("target", "output")
    condition = rule.get("condition", {})
    if kind not in _KINDS:
        raise ValueError("unknown rule kind %r" % (kind,))
    if not isinstance(pattern, str) or not isinstance(replacement, str):
        raise ValueError("pattern and replacement must be strings")
    if target not in ("output", "prompt"):
        raise ValueError("unknown target %r" % (target,))
    if not isinstance(condition, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in condition.items()
    ):
        raise ValueError("condition must map strings to strings")
    if kind in _KINDS_WITH_PATTERN and not pattern:
        raise ValueError("%s needs a pattern" % (kind,))
    if len(pattern) > _MAX_PATTERN_CHARS:
        raise ValueError("pattern longer than %d characters" % (_MAX_PATTERN_CHARS,))
    if kind in ("append", "prepend") and not replacement.strip():
        raise ValueError("%s needs a non-blank replacement" % (kind,))
    matcher = None
    if kind in ("replace", "remove", "case_fix"):
        matcher = _literal_matcher(pattern, kind == "case_fix")
    elif kind == "regex_replace":
        matcher = re.compile(pattern)
        for reference in _GROUP_REFERENCE.findall(replacement):
            if not reference.isdigit() or int(reference) > matcher.groups:
                raise ValueError("replacement refers to a missing group %r" % (reference,))
    return {
        "kind": kind,
        "target": target,
        "pattern": pattern,
        "replacement": "" if kind == "remove" else replacement,
        "condition": condition,
        "matcher": matcher,
    }


def load_rules(rules_json):
    """Parse the embedded rules; a rule that cannot be compiled is skipped and reported."""
    document = json.loads(rules_json)
    compiled = []
    skipped = []
    for index, rule in enumerate(document.get("rules", [])):
        try:
            compiled.append(_compile_rule(rule))
        except (KeyError, TypeError, ValueError, AttributeError, re.error) as exc:
            skipped.append({"index": index, "reason": str(exc) or "invalid rule"})
    return compiled, skipped


def _condition_holds(condition, context):
    for key, expected in condition.items():
        if key not in context or str(context[key]) != expected:
            return False
    return True


def _apply_one(rule, text):
    kind = rule["kind"]
    pattern = rule["pattern"]
    replacement = rule["replacement"]
    if kind == "normalize_whitespace":
        return _SPACE_BEFORE_NEWLINE.sub("\n", _HORIZONTAL_SPACE.sub(" ", text)).strip()
    if kind == "strip_prefix":
        return text[len(pattern):] if text.startswith(pattern) else text
    if kind == "strip_suffix":
        return text[: len(text) - len(pattern)] if text.endswith(pattern) else text
    if kind == "append":
        return text if replacement.strip() in text else text + replacement
    if kind == "prepend":
        return text if replacement.strip() in text else replacement + text
    if kind == "regex_replace":
        return rule["matcher"].sub(lambda match: match.expand(replacement), text)
    return rule["matcher"].sub(lambda match: replacement, text)


def apply_rules(rules, text, context, target):
    """Apply the compiled ``rules`` for ``target`` in order; a rule that fails leaves the text as it was."""
    if not isinstance(text, str):
        return text
    if not isinstance(context, dict):
        context = {}
    for rule in rules:
        if rule["target"] != target or not _condition_holds(rule["condition"], context):
            continue
        try:
            text = _apply_one(rule, text)
        except (re.error, IndexError, TypeError, ValueError):
            continue
    return text
# --- hook runtime ends ---
