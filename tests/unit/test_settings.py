"""The selection settings: one frozen object that checks itself, the config's section and every
caller's argument (VT-17)."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest

from vectortrainer.config import Config, SelectionConfig
from vectortrainer.errors import ConfigError, SettingError
from vectortrainer.golden.selection import select_golden
from vectortrainer.settings import AUTO, DEFAULT_SETTINGS, PROBLEMS, SelectionSettings


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("epsilon", 3.0, "must be 'auto' or a cosine distance in (0, 2]"),
    ("epsilon", 0, "must be 'auto' or a cosine distance in (0, 2]"),
    ("epsilon", "0.2", "must be 'auto' or a cosine distance in (0, 2]"),
    ("top_k", 0, "must be a whole number of at least 1"),
    ("top_k", 2.5, "must be a whole number of at least 1"),
    ("top_k", True, "must be a whole number of at least 1"),
    ("anomaly_share", 1.5, "must be 'auto' or a share in [0, 1]"),
    ("min_samples", 0, "must be a whole number from 1 to 100"),
    ("min_samples", 101, "must be a whole number from 1 to 100"),
    ("cluster_similarity", 1.5, "must be 'auto' or a cosine similarity in [-1, 1]"),
    ("min_cluster_size", 1, "must be a whole number of at least 2"),
    ("duplicate_epsilon", -0.1, "must be null (epsilon / 4) or a cosine distance in [0, 2]"),
    ("density_mode", "fast", "must be one of 'auto', 'exact', 'pruned', 'probed', 'ann'"),
])
def test_each_invalid_value_names_its_key(key, value, problem):
    with pytest.raises(SettingError) as info:
        SelectionSettings(**{key: value})
    error = info.value
    assert isinstance(error, ConfigError)
    assert (error.key, error.value) == (key, value) and error.problem.startswith(problem)
    assert str(error).startswith(f"{key}={value!r}: {problem}")
    with pytest.raises(SettingError, match=f"^{key}="):
        DEFAULT_SETTINGS.replace(**{key: value})
    assert pickle.loads(pickle.dumps(error)).problem == error.problem


def test_every_field_has_a_rule_and_the_defaults_are_the_documented_ones():
    assert list(PROBLEMS) == [f.name for f in dataclasses.fields(SelectionSettings)]
    assert SelectionSettings() == SelectionSettings(
        epsilon=AUTO, top_k=20, anomaly_share=AUTO, min_samples=5, cluster_similarity=AUTO,
        min_cluster_size=3, duplicate_epsilon=None, density_mode="auto")
    assert SelectionSettings().cluster_similarity_value is None
    assert SelectionSettings(cluster_similarity=0.4).cluster_similarity_value == 0.4


def test_settings_are_frozen_and_replace_makes_a_checked_copy():
    settings = SelectionSettings(epsilon=0.2, top_k=6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.top_k = 7  # type: ignore[misc]
    assert settings.replace(top_k=7) == SelectionSettings(epsilon=0.2, top_k=7)
    assert settings.top_k == 6
    assert hash(settings) == hash(SelectionSettings(epsilon=0.2, top_k=6))  # a cache key


def test_the_config_section_is_the_settings_with_the_function_and_prompts():
    section = Config().with_overrides(**{
        "selection.epsilon": 0.2, "selection.top_k": 6, "selection.function": "f",
        "selection.system_prompts": {"f": "You answer."}}).selection
    assert isinstance(section, SelectionSettings)
    assert section.settings_only() == SelectionSettings(epsilon=0.2, top_k=6)
    assert type(section.settings_only()) is SelectionSettings
    changed = section.with_settings(SelectionSettings(top_k=3, density_mode="exact"))
    assert isinstance(changed, SelectionConfig) and changed.function == "f"
    assert changed.system_prompts == {"f": "You answer."}
    assert changed.settings_only() == SelectionSettings(top_k=3, density_mode="exact")
    with pytest.raises(SettingError, match="^top_k=0"):
        SelectionConfig(top_k=0)


def test_from_snapshot_takes_each_valid_key_and_falls_back_per_key():
    default = SelectionSettings(epsilon=0.3, top_k=9, min_cluster_size=4)
    snapshot = {
        "epsilon": 0.2, "top_k": "7", "anomaly_share": 5, "min_samples": 4.0,
        "cluster_similarity": "auto", "duplicate_epsilon": None, "density_mode": "turbo",
        "function": "f", "unknown": 1,
    }
    assert SelectionSettings.from_snapshot(snapshot, default) == SelectionSettings(
        epsilon=0.2, top_k=7, anomaly_share=default.anomaly_share, min_samples=4,
        cluster_similarity=AUTO, min_cluster_size=4, duplicate_epsilon=None,
        density_mode=default.density_mode)
    assert SelectionSettings.from_snapshot(None, default) == default
    assert SelectionSettings.from_snapshot({}, Config().selection) == SelectionSettings()
    assert type(SelectionSettings.from_snapshot({}, Config().selection)) is SelectionSettings
    damaged = {"epsilon": [1], "top_k": 6.5, "min_samples": True, "cluster_similarity": "x"}
    assert SelectionSettings.from_snapshot(damaged, default) == default


def _clusters(seed: int = 0) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, 16))
    rows = [c + 0.05 * rng.standard_normal(16) for c in centres for _ in range(12)]
    rows += [rng.standard_normal(16) for _ in range(6)]
    return np.asarray(rows, dtype=np.float32), ["SUCCESS"] * len(rows)


def test_the_old_keyword_shapes_are_refused_with_what_to_pass_instead():
    vectors, statuses = _clusters()
    with pytest.raises(TypeError, match="expected SelectionSettings"):
        select_golden(vectors, statuses, 0.2)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        select_golden(vectors, statuses, epsilon=0.2, top_k=5)  # type: ignore[call-arg]


def test_the_config_section_passed_whole_picks_what_the_equal_settings_pick():
    vectors, statuses = _clusters()
    section = Config().with_overrides(**{
        "selection.epsilon": 0.2, "selection.top_k": 8, "selection.anomaly_share": 0.5,
        "selection.min_samples": 3, "selection.min_cluster_size": 4, "selection.function": "f"}).selection
    settings = SelectionSettings(epsilon=0.2, top_k=8, anomaly_share=0.5, min_samples=3,
                                 min_cluster_size=4)
    whole = select_golden(vectors, statuses, section)
    same = select_golden(vectors, statuses, settings)
    assert whole.picks == same.picks and len(whole.picks) == 8
    assert whole.min_samples == 3 and whole.epsilon == pytest.approx(0.2)
    # and each setting reaches the selection: without near-duplicate suppression a cluster gives
    # more than its medoid
    steady = select_golden(vectors, statuses, settings.replace(anomaly_share=0.0, duplicate_epsilon=0.0))
    assert sum(p.strategy == "steady" for p in steady.picks) > sum(p.strategy == "steady" for p in whole.picks)
