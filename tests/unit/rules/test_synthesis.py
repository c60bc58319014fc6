"""Rule kinds, synthesis with generalisation and scoping, conflicts and merge, LLM proposals (FR-2.3, FR-2.4, VT-5)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest

from vectortrainer.errors import RuleSynthesisError
from vectortrainer.feedback.from_logs import LoggedOutput
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.rules.conflicts import Conflict
from vectortrainer.rules.llm import LLMRuleProposer
from vectortrainer.rules.model import Rule
from vectortrainer.rules.replay import apply_rules
from vectortrainer.rules.synthesis import NOT_GENERALISABLE, RuleSet, synthesize_rules


def P(bad: str, fixed: str, **context: str) -> FeedbackPair:
    return FeedbackPair(bad, fixed, "prompt", dict(context))


def _one_conflict(pairs: list[FeedbackPair]) -> tuple[RuleSet, Conflict]:
    """The rules synthesised from ``pairs``, and the one conflict among them."""
    rule_set = synthesize_rules(pairs)
    (conflict,) = rule_set.conflicts
    return rule_set, conflict


def _hello_four_times_hey_once() -> list[FeedbackPair]:
    """Fixes of "Hi" that contradict each other, in no context: four "Hello", one "Hey" (enough for
    a rule: three against one is not, see ``rules.evidence``)."""
    hello = [P(f"Hi {n}, ok", f"Hello {n}, ok") for n in ("Ann", "Bo", "Cy", "Di")]
    return hello + [P("Hi Dee, ok", "Hey Dee, ok")]


# --- every rule kind, as the hook runs it -------------------------------------------------

@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        (Rule("normalize_whitespace"), "  a \t b  \nc  ", "a b\nc"),
        (Rule("strip_prefix", "Summary: "), "Summary: x Summary: y", "x Summary: y"),
        (Rule("strip_suffix", " Thanks."), "ok Thanks.", "ok"),
        (Rule("replace", "can not", "cannot"), "I can not; scan nothing", "I cannot; scan nothing"),
        (Rule("remove", "kindly "), "we kindly ask", "we ask"),
        (Rule("case_fix", "cloudsync", "CloudSync"), "CLOUDSYNC and cloudsync and cloudsyncer", "CloudSync and CloudSync and cloudsyncer"),
        (Rule("regex_replace", r"(?<!\w)order (\d+)", r"order #\g<1>"), "order 12 and order #13", "order #12 and order #13"),
        (Rule("append", "", " Bye."), "Hi.", "Hi. Bye."),
        (Rule("append", "", " Bye."), "Hi. Bye. More.", "Hi. Bye. More."),  # idempotent
        (Rule("prepend", "", "Note: "), "x", "Note: x"),
    ],
)
def test_each_rule_kind(rule, text, expected):
    assert apply_rules([rule], text, {}) == expected
    assert apply_rules([rule], apply_rules([rule], text, {}), {}) == expected  # applying twice changes nothing more


def test_target_and_condition_scope_rules():
    rules = [
        Rule("replace", "pls", "please", target="prompt"),
        Rule("append", "", " VIP.", condition={"tier": "enterprise"}),
    ]
    assert apply_rules(rules, "pls help", {}, "prompt") == "please help"
    assert apply_rules(rules, "pls help", {}, "output") == "pls help"
    assert apply_rules(rules, "ok", {"tier": "enterprise"}) == "ok VIP."
    assert apply_rules(rules, "ok", {"tier": "free"}) == "ok"
    assert apply_rules(rules, "ok", {}) == "ok"


# --- synthesis --------------------------------------------------------------------------

def test_same_fix_over_variable_numbers_becomes_one_regex_rule():
    pairs = [P(f"Refund for order {n} sent.", f"Refund for order #{n} sent.") for n in (4411, 97, 123456)]
    rule_set = synthesize_rules(pairs)
    assert len(rule_set.rules) == 1
    rule = rule_set.rules[0]
    assert rule.kind == "regex_replace" and rule.support == 3 and rule.sources == [0, 1, 2]
    assert apply_rules(rule_set.rules, "Your order 5555 is late.", {}) == "Your order #5555 is late."
    assert apply_rules(rule_set.rules, "Your order #5555 is late.", {}) == "Your order #5555 is late."


def test_names_kept_on_both_sides_generalise():
    pairs = [P(f"Thanks {n} for writing", f"Thanks {n}, for writing") for n in ("Anna", "Bob", "Chen")]
    rule_set = synthesize_rules(pairs)
    assert [r.kind for r in rule_set.rules] == ["regex_replace"]
    assert apply_rules(rule_set.rules, "Thanks Zoe for writing", {}) == "Thanks Zoe, for writing"


def test_prefix_literal_case_whitespace_rules_are_learned():
    pairs = [
        P("Summary: Cloudsync can not  sync.", "CloudSync cannot sync."),
        P("Summary: the Cloudsync app failed.", "the CloudSync app failed."),
        P("Summary: we can not log in.", "we cannot log in."),
        P("Summary: disk  full.", "disk full."),
        P("Summary: Cloudsync can not  start.", "CloudSync cannot start."),
    ]
    rule_set = synthesize_rules(pairs)
    kinds = {r.kind: r for r in rule_set.rules}
    assert kinds["strip_prefix"].pattern == "Summary: " and kinds["strip_prefix"].support == 5
    assert kinds["case_fix"].replacement == "CloudSync"
    assert kinds["replace"].pattern == "can not"
    assert "normalize_whitespace" in kinds
    for pair in pairs:
        assert apply_rules(rule_set.rules, pair.bad_output, pair.context) == pair.fixed_output


def test_context_dependent_append_gets_a_condition_and_is_idempotent():
    sentence = " Your account manager will follow up."
    pairs = [
        P("Done.", "Done." + sentence, tier="enterprise", function="reply"),
        P("Sent.", "Sent." + sentence, tier="enterprise", function="reply"),
        P("Closed.", "Closed." + sentence, tier="enterprise", function="reply"),
        P("Done.", "Done.", tier="free", function="reply"),
        P("Noted.", "Noted.", tier="pro", function="reply"),
    ]
    rule_set = synthesize_rules(pairs)
    (rule,) = rule_set.rules
    # kept to its function (VT-18), and to the tier that separates its pairs within it
    assert rule.kind == "append" and rule.condition == {"function": "reply", "tier": "enterprise"}
    enterprise = {"function": "reply", "tier": "enterprise"}
    assert apply_rules(rule_set.rules, "New.", enterprise) == "New." + sentence
    assert apply_rules(rule_set.rules, "New." + sentence, enterprise) == "New." + sentence
    assert apply_rules(rule_set.rules, "New.", {"function": "reply", "tier": "free"}) == "New."
    assert apply_rules(rule_set.rules, "New.", {"function": "summarize", "tier": "enterprise"}) == "New."


def test_a_one_off_correction_is_a_narrow_rule_only_where_its_words_come_back():
    pairs = [P("The customer is angry about it.", "The customer is unhappy about it.", function="sum", tier="free")]
    alone = synthesize_rules(pairs)
    assert alone.rules == [] and [r.reason for r in alone.rejected] == [NOT_GENERALISABLE]
    logs = [LoggedOutput("The supplier is angry about it.", {"function": "sum"})]
    rule_set = synthesize_rules(pairs, logs=logs)
    (rule,) = rule_set.rules
    assert rule.condition == {"function": "sum"}  # a tier only this pair has is no condition (VT-18)
    assert "angry" in rule.pattern and len(rule.pattern.split()) >= 3  # carries a word of context each side
    assert apply_rules(rule_set.rules, "She is angry about it.", {"function": "sum", "tier": "free"}) == \
        "She is unhappy about it."
    assert apply_rules(rule_set.rules, "She is angry today.", {"function": "sum", "tier": "free"}) == "She is angry today."
    assert apply_rules(rule_set.rules, "The customer is angry about it.", {"function": "other"}) == "The customer is angry about it."


def test_rule_that_would_change_good_outputs_is_scoped_or_rejected():
    pairs = [
        P('{"intent": "refund"}', '{"intent": "refund_request"}', function="classify"),
        P('{"intent": "refund", "x": 1}', '{"intent": "refund_request", "x": 1}', function="classify"),
        P('{"intent": "refund", "y": 2}', '{"intent": "refund_request", "y": 2}', function="classify"),
        P("We sent your refund.", "We sent your refund today.", function="reply"),
    ]
    rule_set = synthesize_rules(pairs)
    rule = next(r for r in rule_set.rules if r.replacement == "refund_request")
    assert rule.condition == {"function": "classify"}
    for pair in pairs:
        assert apply_rules(rule_set.rules, pair.fixed_output, pair.context) == pair.fixed_output


def test_conflicting_fixes_are_detected_and_merged_by_support():
    rule_set, conflict = _one_conflict(_hello_four_times_hey_once())
    assert conflict.kind == "same_trigger"
    assert conflict.rules[conflict.chosen].replacement == "Hello" and "support" in conflict.reason
    assert apply_rules(rule_set.rules, "Hi Eve, ok", {}) == "Hello Eve, ok"
    assert any("undo" in r.reason for r in rule_set.rejected)  # the loser is not smuggled back as a one-off
    # A person overrides the decision: the other contender wins.
    other = 1 - conflict.chosen
    resolved = rule_set.resolve(conflict.conflict_id, other)
    assert resolved.conflicts[0].resolved_by == "person"
    assert apply_rules(resolved.rules, "Hi Eve, ok", {}) == "Hey Eve, ok"
    with pytest.raises(RuleSynthesisError, match="no conflict"):
        rule_set.resolve("c-nope", 0)


def test_three_fixes_against_one_are_not_enough_for_a_rule():
    pairs = [P(f"Hi {n}, ok", f"Hello {n}, ok") for n in ("Ann", "Bo", "Cy")] + [P("Hi Dee, ok", "Hey Dee, ok")]
    rule_set = synthesize_rules(pairs)
    assert apply_rules(rule_set.rules, "Hi Eve, ok", {}) == "Hi Eve, ok"  # 75% agreement, bound 0.36 < 0.425


def _greetings_by_tier():
    """Free-tier feedback says "Hello", VIP feedback says "Hey": the same trigger, two contexts."""
    free = [P(f"Hi {n}, ok", f"Hello {n}, ok", tier="free") for n in ("Ann", "Bo", "Cy")]
    vip = [P(f"Hi {n}, ok", f"Hey {n}, ok", tier="vip") for n in ("Dee", "Eve")]
    return free + vip


@pytest.mark.parametrize("order", [[0, 1], [1, 0]])
def test_keep_both_applies_each_rule_in_its_context_in_the_chosen_order(order):
    pairs = _greetings_by_tier()
    rule_set, conflict = _one_conflict(pairs)
    by_replacement = {r.replacement: i for i, r in enumerate(conflict.rules)}
    assert set(by_replacement) == {"Hello", "Hey"}
    resolved = rule_set.resolve(conflict.conflict_id, "both", order=order)
    kept = resolved.conflicts[0]
    assert kept.order == order and kept.resolved_by == "person" and kept.keeps_both
    assert kept.to_dict()["resolution"] == "both" and kept.to_dict()["order"] == order
    assert resolved.to_dict()["overrides"] == {conflict.conflict_id: order}
    first, second = (conflict.rules[i] for i in order)
    # Both rules are in the hook, in the person's order; the first is scoped to its own pairs' tier.
    hook_rules = [r for r in resolved.rules if r.pattern == "Hi"]
    assert [r.replacement for r in hook_rules] == [first.replacement, second.replacement]
    first_tier = "free" if first.replacement == "Hello" else "vip"
    assert hook_rules[0].condition == {"tier": first_tier}
    # Each applies within its context: every bad output is repaired, no fixed output changes.
    for pair in pairs:
        assert apply_rules(resolved.rules, pair.bad_output, pair.context) == pair.fixed_output
        assert apply_rules(resolved.rules, pair.fixed_output, pair.context) == pair.fixed_output
    assert apply_rules(resolved.rules, "Hi Zoe, ok", {"tier": "free"}) == "Hello Zoe, ok"
    assert apply_rules(resolved.rules, "Hi Zoe, ok", {"tier": "vip"}) == "Hey Zoe, ok"
    # Elsewhere the second rule is the default: that is what the order decides.
    assert apply_rules(resolved.rules, "Hi Zoe, ok", {"tier": "pro"}) == f"{second.replacement} Zoe, ok"
    # The generated hook does the same (it is the same interpreter, replayed in a subprocess).
    from vectortrainer.hooks.generator import HookScriptGenerator
    from vectortrainer.hooks.validation import replay_in_subprocess

    source, _, _ = HookScriptGenerator().render(resolved)
    report = replay_in_subprocess(source, pairs)
    assert report.exact_fixes == len(pairs) and report.good_changed == []


def test_keep_both_of_an_undo_conflict_scopes_both_rules():
    # (a style only one pair had could not be a condition: VT-18, so two pairs say "casual")
    pairs = [P("we can not go", "we cannot go", style="formal"), P("we can not stay", "we cannot stay", style="formal"),
             P("we cannot stay", "we can not stay", style="casual"), P("we cannot go", "we can not go", style="casual")]
    rule_set, conflict = _one_conflict(pairs)
    assert conflict.kind == "undo"
    resolved = rule_set.resolve(conflict.conflict_id, "both", order=[1, 0])
    assert [r.condition for r in resolved.rules] == [dict(pairs[i].context) for i in (2, 0)]
    for pair in pairs:
        assert apply_rules(resolved.rules, pair.bad_output, pair.context) == pair.fixed_output


def test_keep_both_is_refused_when_no_context_tells_the_rules_apart():
    rule_set, conflict = _one_conflict(_hello_four_times_hey_once())
    before = rule_set.to_dict()
    with pytest.raises(RuleSynthesisError, match="cannot keep both") as refused:
        rule_set.resolve(conflict.conflict_id, "both", order=[0, 1])
    assert "\n" not in str(refused.value) and "keep one rule instead" in str(refused.value)
    assert rule_set.to_dict() == before  # nothing half-applied
    for bad_order in ([0], [0, 0], [0, 1, 2]):
        with pytest.raises(RuleSynthesisError, match="order|0..1"):
            rule_set.resolve(conflict.conflict_id, "both", order=bad_order)
    with pytest.raises(RuleSynthesisError, match="rule index or 'both'"):
        rule_set.resolve(conflict.conflict_id, "neither")


def test_cli_choose_both_with_an_order(tmp_path, capsys):
    from vectortrainer.cli import main
    from vectortrainer.feedback.store import write_feedback_file

    feedback, hooks = tmp_path / "fb.jsonl", tmp_path / "hooks"
    pairs = _greetings_by_tier()
    write_feedback_file(feedback, pairs, id_prefix="fb")
    base = ["rules", "synthesize", "--feedback", str(feedback), "--hooks-dir", str(hooks), "--no-semantic",
            "--json"]
    assert main(base) == 0
    assert not hooks.exists()  # without --activate it only looks
    (conflict,) = json.loads(capsys.readouterr().out)["conflicts"]
    cid = conflict["conflict_id"]
    assert main([*base, "--choose", f"{cid}=both:1,0"]) == 0
    summary = json.loads(capsys.readouterr().out)
    (kept,) = summary["conflicts"]
    assert kept["resolution"] == "both" and kept["order"] == [1, 0] and summary["overrides"] == {cid: [1, 0]}
    assert summary["replay"]["exact_fixes"] == len(pairs) and summary["replay"]["good_changed"] == []
    assert main([*base, "--choose", f"{cid}=both"]) == 0
    assert json.loads(capsys.readouterr().out)["conflicts"][0]["order"] == [0, 1]
    # Bad orders and unsafe "both" are one-line errors with a non-zero exit.
    assert main([*base, "--choose", f"{cid}=both:0,0"]) == 2
    assert "CONFLICT=both:I,J" in capsys.readouterr().err
    assert main([*base, "--choose", f"{cid}=both:0,1,2"]) == 2
    assert "choice must be 0..1" in capsys.readouterr().err
    write_feedback_file(feedback, [P(b.bad_output, b.fixed_output) for b in pairs], id_prefix="fb")
    assert main([*base, "--choose", f"{cid}=both:0,1"]) != 0
    err = capsys.readouterr().err
    assert "cannot keep both" in err and len(err.strip().splitlines()) == 1


def test_undo_conflict_ties_go_to_the_most_recent_feedback():
    pairs = [P("we can not go", "we cannot go"), P("we cannot stay", "we can not stay")]
    rule_set, conflict = _one_conflict(pairs)
    assert conflict.kind == "undo"
    winner = conflict.rules[conflict.chosen]
    assert winner.sources == [1] and "most recent" in conflict.reason


def test_rewrites_are_screened_out_by_a_scorer():
    class FakeScorer:  # stands in for the MiniLM model, which tests/test_diffing.py exercises for real
        asked: list[str] = []

        def similarities(self, left, right):
            self.asked.extend(left)
            return [0.99 if "order" in a else 0.1 for a in left]

    pairs = [P(f"order {n}", f"order #{n}") for n in (1, 2, 3)]
    pairs += [P(f"Your parcel ships today, {name}.", f"Your account is closed, {name}.")
              for name in ("Anna", "Ben", "Cleo")]
    pairs += [P("totally different", "nothing alike")]
    unscreened = synthesize_rules(pairs)
    assert any("parcel" in rule.pattern for rule in unscreened.rules)  # three pairs back it
    scorer = FakeScorer()
    rule_set = synthesize_rules(pairs, scorer=scorer)
    assert rule_set.rewrites == [3, 4, 5] and any("rewrite" in n for n in rule_set.notes)
    assert not any("parcel" in rule.pattern for rule in rule_set.rules)
    assert any("order" in rule.pattern for rule in rule_set.rules)
    # Only pairs behind a rule about to be kept are scored: the one-off rewrite never is.
    assert "totally different" not in scorer.asked and len(scorer.asked) == 6


# --- LLM proposals through the real openai client ------------------------------------------

class _ChatServer:
    """Loopback /v1/chat/completions answering with a fixed message content."""

    def __init__(self, content: str) -> None:
        self.content = content
        self.bodies: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                server.bodies.append(body)
                reply = {
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": server.content}}],
                }
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(api_key="sk-test", base_url=f"http://127.0.0.1:{self.httpd.server_port}/v1", max_retries=0)


@pytest.fixture
def chat_server():
    servers = []

    def make(content: str) -> _ChatServer:
        servers.append(_ChatServer(content))
        return servers[-1]

    yield make
    for s in servers:
        s.httpd.shutdown()


def test_llm_rules_are_used_when_they_pass_the_replay_check(chat_server):
    answer = {"rules": [
        {"kind": "regex_replace", "target": "output", "pattern": r"order (\d+)", "replacement": r"order #\g<1>", "condition": []},
        {"kind": "replace", "target": "output", "pattern": "ok", "replacement": "NOT OK", "condition": []},
    ]}
    server = chat_server(json.dumps(answer))
    pairs = [P(f"ok, order {n}", f"ok, order #{n}") for n in (1, 22)]
    rule_set = synthesize_rules(pairs, llm=LLMRuleProposer(server.client(), model="gpt-test"))
    assert [r.origin for r in rule_set.rules] == ["llm"]
    assert any(r.rule.replacement == "NOT OK" for r in rule_set.rejected)  # harmful proposal refused
    sent = server.bodies[0]
    assert sent["response_format"]["type"] == "json_schema" and sent["model"] == "gpt-test"


@pytest.mark.parametrize("content", ["not json at all", json.dumps({"rules": [{"kind": "rm -rf"}]})])
def test_llm_failure_falls_back_to_heuristics(chat_server, content):
    server = chat_server(content)
    pairs = [P(f"order {n}", f"order #{n}") for n in (1, 22, 333)]
    rule_set = synthesize_rules(pairs, llm=LLMRuleProposer(server.client()))
    assert any("LLM synthesis failed" in n for n in rule_set.notes)
    assert [r.origin for r in rule_set.rules] == ["heuristic"]
    assert apply_rules(rule_set.rules, "order 5", {}) == "order #5"


def test_llm_text_conditions_and_case_transforms_are_checked_like_learned_ones(chat_server):
    answer = {"rules": [
        {"kind": "append", "target": "output", "pattern": "", "replacement": " Bye.", "condition": [],
         "text_condition": ["(a+)+$"], "group_case": []},
        {"kind": "regex_replace", "target": "output", "pattern": r"\AAs an AI, (\w)", "replacement": r"\g<1>",
         "condition": [], "text_condition": [], "group_case": [{"group": 1, "case": "upper"}]},
    ]}
    server = chat_server(json.dumps(answer))
    pairs = [P(f"As an AI, {g} there", f"{g.capitalize()} there") for g in ("hello", "hi")]
    rule_set = synthesize_rules(pairs, llm=LLMRuleProposer(server.client(), model="gpt-test"))
    (rule,) = [r for r in rule_set.rules if r.origin == "llm"]
    assert rule.group_case == {1: "upper"} and "proposed by the LLM" in rule.evidence.why
    assert any("unsafe regex" in r.reason for r in rule_set.rejected)
    schema = server.bodies[0]["response_format"]["json_schema"]["schema"]["properties"]["rules"]["items"]
    assert {"text_condition", "group_case"} <= set(schema["required"])
