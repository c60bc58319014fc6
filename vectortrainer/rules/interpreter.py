"""The rule interpreter every generated hook carries, verbatim (standard library only).

The lines between the two markers are copied into each `generated_prompt_hook.py`;
the engine imports this module to replay rules exactly as the hook will. Rules are
data (a JSON document): literal patterns are escaped before they become regexes,
text conditions are regexes searched in the text, a case transform is a name looked
up in a fixed table, and nothing here turns rule text into code.

The hook bounds its own work: a rule scans at most ``MAX_SCAN_CHARS`` characters. A
text longer than that is left unchanged by every rule (the fallback: the model's output
is returned as it came) and counted in ``STATS["too_long"]``; the patterns themselves
are checked to match in linear time (:mod:`vectortrainer.rules.safety`) before a hook is
written, so the cap is a second line, not the only one.
"""

# --- hook runtime begins ---
import json
import re

_MAX_PATTERN_CHARS = 4000
MAX_SCAN_CHARS = 1000000  # longer texts pass through unchanged (counted in STATS["too_long"])
STATS = {"too_long": 0}
_HORIZONTAL_SPACE = re.compile(r"[ \t]+")
_SPACE_BEFORE_NEWLINE = re.compile(r" +\n")
_GROUP_REFERENCE = re.compile(r"\\g<([^>]*)>")
_WORD = re.compile(r"\w+")
# Under re.IGNORECASE an ASCII letter also matches these: folded to it, a text holds an ASCII
# literal case-insensitively exactly when its lower case holds the literal's lower case.
_FOLD_TO_ASCII = (("\u0130", "i"), ("\u0131", "i"), ("\u017f", "s"), ("\u212a", "k"))
# The ASCII characters that are neither word characters (\w) nor white space: made spaces, with
# every other character made "?", a text splits at white space into the runs of ASCII word
# characters of its words (str.translate has a fast path for ASCII text: 12 us per 1 KB, where
# finding the words with a regex takes 27).
_ASCII_NON_WORD = (
    "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19"
    "\x1a\x1b!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~\x7f"
)
_TO_SPACE = dict((ord(character), " ") for character in _ASCII_NON_WORD)
# Fewer keyed rules than this are tried in order, each ruled out by its needle (about 0.5 us per
# 1 KB), instead of finding the text's runs first (about 12 us per 1 KB).
_MIN_INDEXED_RULES = 16
_KINDS_WITH_PATTERN = (
    "replace",
    "remove",
    "case_fix",
    "regex_replace",
    "strip_prefix",
    "strip_suffix",
)
_KINDS = _KINDS_WITH_PATTERN + ("append", "prepend", "normalize_whitespace")
_CASE_TRANSFORMS = {
    "upper": str.upper,
    "lower": str.lower,
    "capitalize": lambda text: text[:1].upper() + text[1:],
}


def literal_pattern(text):
    """A regex for ``text`` as a literal, not inside a longer word where its ends are word
    characters.

    The left edge is tested by a lookbehind after the literal, not before it, so the
    regex starts with the literal and ``re`` can jump to its occurrences (about 50x faster).
    """
    escaped = re.escape(text)
    left = "(?<!\\w" + escaped + ")" if re.match(r"\w", text[0]) else ""
    right = r"(?!\w)" if re.match(r"\w", text[-1]) else ""
    return escaped + left + right


def _literal_matcher(text, ignore_case):
    return re.compile(literal_pattern(text), re.IGNORECASE if ignore_case else 0)


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
    # Text every match contains: a rule whose needle is not in the text is not tried (a literal's
    # own words; for a regex, what the writer found it cannot match without).
    needle = rule.get("needle", "")
    if not isinstance(needle, str):
        raise ValueError("needle must be a string")
    if kind in ("replace", "remove"):
        needle = pattern
    matcher = None
    if kind in ("replace", "remove", "case_fix"):
        matcher = _literal_matcher(pattern, kind == "case_fix")
    elif kind == "regex_replace":
        matcher = re.compile(pattern)
        for reference in _GROUP_REFERENCE.findall(replacement):
            if not reference.isdigit() or int(reference) > matcher.groups:
                raise ValueError("replacement refers to a missing group %r" % (reference,))
    needle = needle if kind in ("replace", "remove", "regex_replace") else ""
    # A case fix matches in any letter case: its needle is looked for in the folded text.
    folded_needle = pattern.lower() if kind == "case_fix" and pattern.isascii() else ""
    return {
        "kind": kind,
        "target": target,
        "pattern": pattern,
        "replacement": "" if kind == "remove" else replacement,
        "condition": condition,
        "matcher": matcher,
        "needle": needle,
        "folded_needle": folded_needle,
        "key": _given_key(rule, kind) or _key_word(needle, kind),
        "text_condition": _compile_text_condition(rule.get("text_condition", [])),
        "template": _case_template(rule.get("group_case", {}), kind, replacement, matcher),
    }


def _given_key(rule, kind):
    """A regex rule's key word as its writer found it in the pattern (a word every match holds
    whole, see ``needles.whole_word``); "" when it has none."""
    key = rule.get("key", "")
    if not isinstance(key, str) or (key and not _WORD.fullmatch(key)):
        raise ValueError("key must be one word")
    return key if kind == "regex_replace" else ""


def _key_word(needle, kind):
    """A word the text holds whole wherever the rule can match (``""``: none is certain).

    One set of a text's words answers every rule's key at once, where testing each needle
    scans the whole text again. A literal rule matches only between word boundaries, so each
    of its words is whole in the text; a regex rule's needle is only a substring, so only a word
    with a non-word character on both sides inside the needle is certain to be whole.
    """
    if not needle:
        return ""
    found = list(_WORD.finditer(needle))
    if kind not in ("replace", "remove"):
        found = list(m for m in found if m.start() > 0 and m.end() < len(needle))
    words = list(m.group() for m in found)
    return max(words, key=len) if words else ""


def _ascii_runs(text):
    """The runs of ASCII word characters in ``text``, split at every other character.

    A word that stands whole in a text has each of its runs whole among the text's runs, so
    the runs of a rule's key word can file the rule, and the runs of a text find it.
    """
    return text.encode("ascii", "replace").decode("ascii").translate(_TO_SPACE).split()


def _fold(text):
    """``text`` as case-insensitive matching of ASCII literals sees it (see ``_FOLD_TO_ASCII``)."""
    for special, letter in _FOLD_TO_ASCII:
        text = text.replace(special, letter)
    return text.lower()


def _compile_text_condition(patterns):
    """The regexes a text must contain (all of them) for the rule to apply."""
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
        raise ValueError("text_condition must be a list of non-empty patterns")
    if any(len(p) > _MAX_PATTERN_CHARS for p in patterns):
        raise ValueError("text_condition pattern longer than %d characters" % (_MAX_PATTERN_CHARS,))
    return list(re.compile(p) for p in patterns)


def _case_template(group_case, kind, replacement, matcher):
    """None, or the template as (literal text, group number, transform) parts when groups change
    case.

    Such a template may hold only literal text and ``\\g<n>`` references, so its meaning
    does not depend on any other escape.
    """
    if not isinstance(group_case, dict):
        raise ValueError("group_case must map group numbers to transforms")
    if not group_case:
        return None
    if kind != "regex_replace":
        raise ValueError("group_case needs a regex_replace rule")
    for group, transform in group_case.items():
        if not (isinstance(group, str) and group.isdigit() and 0 < int(group) <= matcher.groups):
            raise ValueError("group_case names a missing group %r" % (group,))
        if transform not in _CASE_TRANSFORMS:
            raise ValueError("unknown case transform %r" % (transform,))
    parts = []
    position = 0
    for reference in _GROUP_REFERENCE.finditer(replacement):
        parts.append((replacement[position:reference.start()], 0, None))
        parts.append(("", int(reference.group(1)), group_case.get(reference.group(1))))
        position = reference.end()
    parts.append((replacement[position:], 0, None))
    if any("\\" in text for text, _, _ in parts):
        raise ValueError("a template with case transforms may hold only text and \\g<n> references")
    return parts


def _expand(match, parts):
    pieces = []
    for text, group, transform in parts:
        if not group:
            pieces.append(text)
            continue
        value = match.group(group) or ""
        pieces.append(_CASE_TRANSFORMS[transform](value) if transform else value)
    return "".join(pieces)


def load_rules(rules_json):
    """Parse the embedded rules into an indexed plan (:func:`index_rules`); a rule that cannot be
    compiled is skipped and reported."""
    document = json.loads(rules_json)
    compiled = []
    skipped = []
    for index, rule in enumerate(document.get("rules", [])):
        try:
            compiled.append(_compile_rule(rule))
        except (KeyError, TypeError, ValueError, AttributeError, re.error) as exc:
            skipped.append({"index": index, "reason": str(exc) or "invalid rule"})
    return index_rules(compiled), skipped


def index_rules(compiled):
    """The compiled rules in order, with each target's rules filed by key word.

    A call then visits only the rules whose key word is in the text (found by one set
    intersection) and those with no key word (or none with an ASCII letter or digit), instead of
    testing every rule's key in turn.
    """
    keyed = {"output": {}, "prompt": {}}
    unkeyed = {"output": [], "prompt": []}
    every = {"output": [], "prompt": []}
    for position, rule in enumerate(compiled):
        every[rule["target"]].append(position)
        runs = _ascii_runs(rule["key"])
        if runs:  # filed under the longest run of its key word: the rarest, most likely
            keyed[rule["target"]].setdefault(max(runs, key=len), []).append(position)
        else:
            unkeyed[rule["target"]].append(position)
    # With few rules their needles rule them out sooner than the runs of the text are found.
    for target in ("output", "prompt"):
        if len(every[target]) - len(unkeyed[target]) < _MIN_INDEXED_RULES:
            keyed[target], unkeyed[target] = {}, every[target]
    return {"rules": compiled, "keyed": keyed, "unkeyed": unkeyed}


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
    if kind == "regex_replace" and rule["template"]:
        return rule["matcher"].sub(lambda match: _expand(match, rule["template"]), text)
    if kind == "regex_replace":
        # the template is parsed once (re caches it), as expand() reads it
        return rule["matcher"].sub(replacement, text)
    return rule["matcher"].sub(lambda match: replacement, text)


def _candidates(plan, text, target, after):
    """The positions after ``after`` of the rules for ``target`` that ``text`` does not rule out
    by their key word, in order."""
    unkeyed = plan["unkeyed"].get(target, [])
    found = list(unkeyed) if after < 0 else list(p for p in unkeyed if p > after)
    keyed = plan["keyed"].get(target, {})
    if keyed:
        for run in set(_ascii_runs(text)).intersection(keyed):
            found.extend(keyed[run] if after < 0 else list(p for p in keyed[run] if p > after))
        found.sort()
    return found


def _apply_after(plan, text, context, target, after):
    """Run the rules after position ``after`` until one changes the text: (the text, that rule's
    position), or (the text, -1) when none does."""
    rules = plan["rules"]
    folded, folded_ready = "", False
    for position in _candidates(plan, text, target, after):
        rule = rules[position]
        needle = rule["needle"]
        if needle and needle not in text:
            continue
        folded_needle = rule["folded_needle"]
        if folded_needle:
            if not folded_ready:
                folded, folded_ready = _fold(text), True
            if folded_needle not in folded:
                continue
        condition = rule["condition"]
        if condition and not _condition_holds(condition, context):
            continue
        text_condition = rule["text_condition"]
        if text_condition and not all(matcher.search(text) for matcher in text_condition):
            continue
        try:
            changed = _apply_one(rule, text)
        except (re.error, IndexError, TypeError, ValueError):
            continue
        if changed != text:
            return changed, position
    return text, -1


def apply_rules(plan, text, context, target):
    """Apply the rules of ``plan`` (from :func:`load_rules`) for ``target`` in order; a rule that
    fails leaves the text as it was.

    After a rule changes the text, the later rules are judged on the changed text, so a rule
    can act on what an earlier one wrote. A text longer than ``MAX_SCAN_CHARS`` is returned
    unchanged and counted in ``STATS["too_long"]``.
    """
    if not isinstance(text, str):
        return text
    if not isinstance(context, dict):
        context = {}
    rules = plan["rules"]
    if len(text) > MAX_SCAN_CHARS:
        if rules:
            STATS["too_long"] = STATS["too_long"] + 1
        return text
    after = -1
    for _ in rules:  # a round ends at the rule that changed the text: at most one per rule
        text, after = _apply_after(plan, text, context, target, after)
        if after < 0:
            return text
    return text
# --- hook runtime ends ---
