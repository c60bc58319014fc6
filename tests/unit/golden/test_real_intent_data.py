"""The real labelled request sets the selection bench runs on are whole and in the form their README says."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data" / "intents"


@pytest.mark.parametrize(("name", "sizes", "intents"), [
    ("clinc150", {"pool": 6000, "test": 1500, "oos": 1200}, 150),
    ("hwu64", {"pool": 6000, "test": 1076}, 64),
    ("banking77", {"pool": 6000, "test": 1500}, 77),
    ("snips", {"pool": 6000, "test": 700}, 7),
])
def test_each_set_has_its_splits_and_intents(name, sizes, intents):
    rows = [json.loads(line) for line in gzip.open(DATA / f"{name}.jsonl.gz", "rt", encoding="utf-8")]
    assert Counter(r["split"] for r in rows) == sizes
    assert all(isinstance(r["text"], str) and r["text"].strip() for r in rows)
    assert len({r["label"] for r in rows if r["split"] == "pool"}) == intents
    assert {r["label"] for r in rows if r["split"] == "oos"} <= {"oos"}
    assert name in (DATA / "README.md").read_text(encoding="utf-8")
