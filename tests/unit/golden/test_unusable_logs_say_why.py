"""A function whose logs cannot be used says the real cause and its fix (VT-24): logs stored without
vectors mean VectorWave had no vectorizer, not that the function was never called."""

from __future__ import annotations

import numpy as np
import pytest

from vectortrainer.errors import StoreError
from vectortrainer.golden.extractor import DensityBasedExtractor
from vectortrainer.store.records import FunctionLogs
from vectortrainer.store.source import SKIP_NO_INPUTS, SKIP_NO_VECTOR


class _Logs:
    """A log source holding only logs that were skipped for ``reason``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def read_function(self, name, progress=None):
        return FunctionLogs(name, [], np.zeros((0, 384), dtype=np.float32), skipped={self.reason: 30}, total=30)


@pytest.mark.parametrize(("reason", "fix"), [
    (SKIP_NO_VECTOR, "VectorWave stored them without vectors because it had no vectorizer set: call "
                     "vectortrainer.quickstart.log_to(STORE)"),
    (SKIP_NO_INPUTS, "decorate it with @vectorize(capture_inputs=True, capture_return_value=True)"),
])
def test_no_usable_log_names_the_cause_and_the_fix(reason, fix, tmp_path):
    extractor = DensityBasedExtractor(source=_Logs(reason))
    with pytest.raises(StoreError) as raised:
        extractor.extract_golden_data("reply", tmp_path / "golden.jsonl")
    message = str(raised.value)
    assert f"30 {reason}" in message and fix in message
    assert "call it successfully a few times first" not in message
    assert not (tmp_path / "golden.jsonl").exists()
