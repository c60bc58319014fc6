"""The extractor end to end: logs in, validated golden ChatML out (FR-1.5, FR-1.6, VT-1, VT-4)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from vectortrainer.config import Config
from vectortrainer.errors import StoreError
from vectortrainer.golden.extractor import DensityBasedExtractor
from vectortrainer.settings import SelectionSettings
from vectortrainer.store.records import FunctionLogs, FunctionSummary, LogRecord
from vectortrainer.store.source import FunctionInfo, LogReader, ProgressCallback


class InMemorySource:
    """A log source holding ready-made FunctionLogs (a ``LogReader``, without a store)."""

    def __init__(self, logs: FunctionLogs, info: FunctionInfo) -> None:
        self.logs, self.info = logs, info

    def list_functions(self) -> list[FunctionSummary]:
        records = self.logs.records
        succeeded = sum(1 for r in records if r.succeeded)
        return [FunctionSummary(self.logs.function_name, self.logs.total, succeeded, len(records), len(records),
                                len(records) - succeeded)]

    def read_function(self, function_name: str, progress: ProgressCallback | None = None) -> FunctionLogs:
        if function_name != self.logs.function_name:
            raise StoreError(f"no logs of function '{function_name}'")
        if progress:
            progress(self.logs.total, self.logs.total)
        return self.logs

    def function_info(self, function_name: str) -> FunctionInfo:
        return self.info


def synthetic_logs() -> FunctionLogs:
    rng = np.random.default_rng(5)
    dim = 32
    centres = rng.standard_normal((3, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    records, vectors = [], []
    for c, size in enumerate([40, 15, 6]):
        for i in range(size):
            q = f"topic {c} question {i}"
            records.append(LogRecord(uuid=f"u{c}-{i}", function_name="answer", status="SUCCESS",
                                     inputs={"question": q, "lang": "en"}, output={"answer": q.upper(), "n": i}))
            vectors.append(centres[c] + 0.3 * rng.standard_normal(dim) / math.sqrt(dim))
    for i in range(3):
        records.append(LogRecord(uuid=f"new-{i}", function_name="answer", status="ANOMALY",
                                 inputs={"question": f"rare {i}", "lang": "fr"}, output={"answer": f"RARE {i}", "n": i}))
        vectors.append(rng.standard_normal(dim))
    for i in range(4):
        records.append(LogRecord(uuid=f"err-{i}", function_name="answer", status="ERROR",
                                 inputs={"question": f"bad {i}", "lang": "en"}, output=None, error_message="ValueError"))
        vectors.append(rng.standard_normal(dim))
    return FunctionLogs("answer", records, np.asarray(vectors, np.float32), {"no vector": 2}, total=len(records) + 2)


def test_the_stand_in_is_a_log_reader() -> None:
    assert isinstance(InMemorySource(synthetic_logs(), FunctionInfo("answer")), LogReader)


def make_extractor(**kwargs) -> DensityBasedExtractor:
    info = FunctionInfo("answer", "Answer a customer question.\n\nMore.", ("question", "lang"))
    return DensityBasedExtractor(source=InMemorySource(synthetic_logs(), info), **kwargs)


def test_writes_real_inputs_and_outputs_of_picked_logs(tmp_path: Path) -> None:
    stages = []
    extractor = make_extractor(settings=SelectionSettings(epsilon=0.15, top_k=8, anomaly_share=0.25),
                               progress=lambda stage, done, total: stages.append(stage))
    report = extractor.extract_golden_data("answer", tmp_path / "golden.jsonl")
    logs = synthetic_logs()
    by_uuid = {r.uuid: r for r in logs.records}
    lines = [json.loads(line) for line in (tmp_path / "golden.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == report.examples == 8 == len(report.picks)
    assert report.steady == 6 and report.anomaly == 2 and report.clusters == 3
    for pick, line in zip(report.picks, lines):
        record = by_uuid[pick.uuid]
        system, user, assistant = line["messages"]
        assert system == {"role": "system", "content":
                          "You are the function `answer(question, lang)`. Answer a customer question. "
                          "Answer with its return value only."}
        assert user == {"role": "user", "content": f"question: {record.inputs['question']}\nlang: {record.inputs['lang']}"}
        assert json.loads(assistant["content"]) == record.output
        assert record.status != "ERROR"
        assert "density" not in json.dumps(line)
    assert {p.strategy for p in report.picks if p.uuid.startswith("new-")} == {"anomaly"}
    assert report.validation.ok and report.validation.examples == 8
    assert report.total_logs == 70 and report.usable_logs == 64
    assert report.skipped == {"no vector": 2} and report.excluded == {"failed status": 4}
    assert set(report.timings) == {"read", "density", "selection", "write", "validate"}
    assert report.density_percentiles["p0"] == 0.0  # the rare patterns have no neighbours
    assert report.density_percentiles["p100"] >= report.density_percentiles["p50"] > 0
    assert report.density_mode == "exact" and "read" in stages and "density" in stages


def test_configured_system_prompt_is_used(tmp_path: Path) -> None:
    extractor = make_extractor(settings=SelectionSettings(top_k=3),
                               system_prompts={"answer": "You answer support questions."})
    extractor.extract_golden_data("answer", tmp_path / "g.jsonl")
    first = json.loads((tmp_path / "g.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["messages"][0]["content"] == "You answer support questions."


def test_the_config_section_gives_the_extractor_its_settings_and_prompts(tmp_path: Path) -> None:
    config = Config().with_overrides(**{
        "selection.epsilon": 0.15, "selection.top_k": 8, "selection.min_cluster_size": 4,
        "selection.system_prompts": {"answer": "You answer support questions."}})
    info = FunctionInfo("answer", "", ("question", "lang"))
    from_config = DensityBasedExtractor.from_config(config.selection, source=InMemorySource(synthetic_logs(), info))
    assert from_config.settings == config.selection and from_config.runner is None
    report = from_config.extract_golden_data("answer", tmp_path / "a.jsonl")
    same = make_extractor(settings=SelectionSettings(epsilon=0.15, top_k=8, min_cluster_size=4))
    assert [p.uuid for p in report.picks] == [
        p.uuid for p in same.extract_golden_data("answer", tmp_path / "b.jsonl").picks]
    first = json.loads((tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["messages"][0]["content"] == "You answer support questions."


def test_no_usable_logs_is_a_clear_error(tmp_path: Path) -> None:
    logs = synthetic_logs()
    failed_only = FunctionLogs("answer", [r for r in logs.records if r.status == "ERROR"],
                               logs.vectors[-4:], {}, total=4)
    extractor = DensityBasedExtractor(source=InMemorySource(failed_only, FunctionInfo("answer", "", ())))
    with pytest.raises(StoreError, match="no successful log.*4 failed status"):
        extractor.extract_golden_data("answer", tmp_path / "g.jsonl")
    assert not (tmp_path / "g.jsonl").exists()


def test_needs_a_dataset_manager_or_a_source() -> None:
    with pytest.raises(StoreError, match="VectorWaveDatasetManager"):
        DensityBasedExtractor()


@pytest.mark.slow
def test_real_seeded_store_gives_valid_golden_data(seeded_store: Path, tmp_path: Path) -> None:
    from vectortrainer.demo.functions import DEMO_FUNCTIONS
    from vectortrainer.store.environment import open_dataset_manager

    manager = open_dataset_manager(seeded_store)
    extractor = DensityBasedExtractor(manager, SelectionSettings(epsilon=0.15, top_k=12))
    for name in ("classify_intent", "draft_reply"):
        out = tmp_path / f"{name}.jsonl"
        report = extractor.extract_golden_data(name, out)
        assert report.validation.ok, report.validation.summary()
        assert report.examples == 12 and report.steady >= 1
        lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        func = DEMO_FUNCTIONS[name]
        for pick, line in zip(report.picks, lines):
            assert pick.status in ("SUCCESS", "ANOMALY")
            user, assistant = line["messages"][1]["content"], line["messages"][2]["content"]
            # Re-run the deterministic demo function on the input recovered from the user message.
            if name == "classify_intent":
                inputs = {"message": user}
            else:
                inputs = dict(part.split(": ", 1) for part in user.split("\n"))
                inputs = {k: json.loads(v) if v.startswith('"') else v for k, v in inputs.items()}
            expected = func(**inputs)
            assert assistant == (expected if isinstance(expected, str) else json.dumps(expected, ensure_ascii=False))


def test_bench_extraction_reads_the_store_without_importing_vectorwave(seeded_store: Path, tmp_path: Path) -> None:
    """bench/extract.py once opened a VectorWave dataset manager: a 10-13 s "open" stage that was only the import."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    command = [sys.executable, str(repo / "bench" / "extract.py"), "--store", str(seeded_store),
               "--function", "draft_reply", "--top-k", "5", "--out", str(tmp_path / "golden.jsonl")]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "VectorWave imported: False" in result.stdout
    assert "peak RSS" in result.stdout and "valid: True" in result.stdout
