"""Token counts of content given as parts: the text the model reads, not the JSON around it."""

from __future__ import annotations

from vectortrainer.budget.encodings import get_encoding
from vectortrainer.budget.tokens import count_message_tokens


def test_text_and_refusal_parts_count_as_their_text():
    encoding = get_encoding("o200k_base")
    as_parts = [{"role": "user", "content": [{"type": "text", "text": "hello "}, {"type": "text", "text": "world"}]},
                {"role": "assistant", "content": [{"type": "refusal", "refusal": "I can't help with that."}]}]
    as_text = [{"role": "user", "content": "hello world"},
               {"role": "assistant", "content": "I can't help with that."}]

    assert count_message_tokens(as_parts, encoding) == count_message_tokens(as_text, encoding)
