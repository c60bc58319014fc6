# The types of interpreter.py. Its code is copied verbatim into every generated hook and checked
# node for node against the template (hooks/validation.py), so annotations there would change
# every hook; they live here instead. tests/unit/rules/test_interpreter_stub.py keeps the two
# in step.
from collections.abc import Mapping, Sequence
from typing import TypedDict, TypeVar

_Text = TypeVar("_Text")

MAX_SCAN_CHARS: int
STATS: dict[str, int]

# A rule as load_rules compiles it: opaque to the engine, which only hands it back to apply_rules.
CompiledRule = Mapping[str, object]

# The compiled rules in order, with the positions of each target's rules filed by key word
# ("keyed") and of those without one ("unkeyed").
class RulePlan(TypedDict):
    rules: list[CompiledRule]
    keyed: dict[str, dict[str, list[int]]]
    unkeyed: dict[str, list[int]]

# A rule load_rules refused: {"index": its position in the document, "reason": why}.
RefusedRule = dict[str, int | str]

def literal_pattern(text: str) -> str: ...
def load_rules(rules_json: str) -> tuple[RulePlan, list[RefusedRule]]: ...
def index_rules(compiled: Sequence[CompiledRule]) -> RulePlan: ...
def apply_rules(plan: RulePlan, text: _Text, context: object, target: str) -> _Text: ...
