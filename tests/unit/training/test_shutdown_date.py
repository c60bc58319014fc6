"""What the OpenAI models endpoint's ``shutdown_date`` may hold, read as a date (issue 26, part 4): the
documented ISO date, and what a proxy or an older server might send instead."""

from __future__ import annotations

import datetime as dt

import pytest

from vectortrainer.training.openai import shutdown_date_in

DAY = dt.date(2026, 11, 30)
NOON_UTC = int(dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone.utc).timestamp())


@pytest.mark.parametrize("value, expected", [
    ("2026-11-30", DAY),
    (" 2026-11-30 ", DAY),
    ("2026-11-30T12:00:00Z", DAY),
    ("2026-11-30T23:30:00-05:00", dt.date(2026, 12, 1)),  # read in UTC
    ("2026-11-30T08:00:00", DAY),  # no zone: its own date
    (NOON_UTC, DAY),
    (float(NOON_UTC), DAY),
    (str(NOON_UTC), DAY),
])
def test_a_date_a_date_time_or_a_timestamp_is_read(value, expected):
    assert shutdown_date_in(value) == expected


@pytest.mark.parametrize("value", [None, "", "soon", "2026-13-01", True, [], {"date": "2026-11-30"},
                                   10**20, "30/11/2026",
                                   0, "0", "1970-01-01", 20261130])  # an empty value, not "long past"
def test_anything_else_is_no_date(value):
    assert shutdown_date_in(value) is None
