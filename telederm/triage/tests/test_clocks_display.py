"""How time left is worded in the queue (English source strings; bokmål is the lead's)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from telederm.triage.views import describe_time_left

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("due", "text"),
    [
        (NOW + dt.timedelta(hours=2, minutes=10), "2 h 10 min left"),
        (NOW + dt.timedelta(minutes=5), "5 min left"),
        (NOW + dt.timedelta(seconds=20), "less than a minute left"),
        (NOW - dt.timedelta(hours=3), "overdue by 3 h"),
        (NOW, "overdue by less than a minute"),
        (NOW + dt.timedelta(hours=30), "30 h left"),
        (NOW + dt.timedelta(days=4, hours=1, minutes=5), "4 days 1 h left"),
        (NOW - dt.timedelta(days=2), "overdue by 2 days"),
        (None, ""),
    ],
)
def test_time_left_in_words(due: dt.datetime | None, text: str) -> None:
    with translation.override("en"):
        assert describe_time_left(NOW, due) == text


def test_across_the_spring_night_time_left_is_real_time() -> None:
    oslo = dt.timezone(dt.timedelta(hours=1))
    now = dt.datetime(2026, 3, 28, 22, 0, tzinfo=oslo)  # 21:00 UTC
    due = dt.datetime(2026, 3, 29, 6, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))  # 04:00 UTC
    with translation.override("en"):
        assert describe_time_left(now, due) == "7 h left"
