"""The `canary:` section (issue 26): off by default (a passed model is promoted at once, as before), and
every bad value is one clear error naming the key."""

from __future__ import annotations

import pytest

from vectortrainer.config import CanaryConfig, Config, load_config
from vectortrainer.errors import ConfigError


def test_the_canary_is_off_by_default():
    canary = Config().canary
    assert canary == CanaryConfig() and canary.share == 0.0
    assert (canary.min_calls, canary.confidence, canary.max_hours) == (200, 0.95, 72.0)


def test_a_valid_section_loads(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("canary:\n  share: 0.1\n  min_calls: 50\n  max_error_rise: 0.01\n  semantic: false\n"
                    "  max_hours: 24\n")
    canary = load_config(path).canary
    assert (canary.share, canary.min_calls, canary.max_error_rise, canary.semantic, canary.max_hours) == \
        (0.1, 50, 0.01, False, 24)


@pytest.mark.parametrize("line, message", [
    ("share: 1.5", "canary.share: must be a finite number in [0, 1]"),
    ("share: -0.1", "canary.share: must be a finite number in [0, 1]"),
    ("share: .nan", "canary.share: must be a finite number in [0, 1]"),
    ("share: lots", "canary.share: expected"),
    ("min_calls: 0", "canary.min_calls: must be a whole number of at least 1"),
    ("min_calls: 2.5", "canary.min_calls: expected an integer, got 2.5"),
    ("confidence: 1", "canary.confidence: must be a finite number in (0.5, 1)"),
    ("confidence: 0.3", "canary.confidence: must be a finite number in (0.5, 1)"),
    ("max_error_rise: 2", "canary.max_error_rise: must be a finite number in [0, 1]"),
    ("max_correction_rise: -1", "canary.max_correction_rise: must be a finite number in [0, 1]"),
    ("max_score_drop: 1.1", "canary.max_score_drop: must be a finite number in [0, 1]"),
    ("max_hours: 0", "canary.max_hours: must be a finite number in (0, 8760]"),
    ("semantic: maybe", "canary.semantic: expected true/false, got 'maybe'"),
    ("sharee: 0.1", "canary.sharee: unknown key (did you mean 'share'?)"),
])
def test_each_bad_value_is_one_clear_error(tmp_path, line, message):
    path = tmp_path / "config.yaml"
    path.write_text(f"canary:\n  {line}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert message in text and text.startswith(str(path)) and "\n" not in text


def test_an_override_is_checked_the_same_way():
    with pytest.raises(ConfigError, match="command line: canary.share: must be a finite number"):
        Config().with_overrides(**{"canary.share": 3})
