"""Working-time arithmetic: pure, no database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telederm.core.calendar import (
    OSLO,
    WorkingHours,
    add_working_days,
    add_working_hours,
    is_working_day,
)

OPENING = WorkingHours(8, 16)


def oslo(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=OSLO)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (dt.date(2026, 5, 17), False),  # Constitution Day (a Sunday that year anyway)
        (dt.date(2027, 5, 17), False),  # Constitution Day on a Monday
        (dt.date(2026, 4, 2), False),  # Maundy Thursday
        (dt.date(2026, 4, 6), False),  # Easter Monday
        (dt.date(2026, 12, 24), True),  # Christmas Eve is not a public holiday
        (dt.date(2026, 11, 21), False),  # Saturday
        (dt.date(2026, 11, 23), True),  # an ordinary Monday
    ],
)
def test_working_days_follow_the_norwegian_calendar(day: dt.date, working: bool) -> None:
    assert is_working_day(day) is working


def test_friday_evening_case_with_one_working_day_is_due_monday_at_closing() -> None:
    assert add_working_hours(oslo(2026, 11, 20, 18), 8, OPENING) == oslo(2026, 11, 23, 16)


def test_hours_count_from_the_moment_of_sending_within_opening_hours() -> None:
    assert add_working_hours(oslo(2026, 11, 23, 10), 3, OPENING) == oslo(2026, 11, 23, 13)


def test_easter_does_not_count() -> None:
    # Wednesday 1 April 2026 15:00 + 2 h: one hour on Wednesday, then Thursday to Monday are
    # holidays or weekend, so the second hour ends on Tuesday 7 April at 09:00.
    assert add_working_hours(oslo(2026, 4, 1, 15), 2, OPENING) == oslo(2026, 4, 7, 9)


def test_ten_working_days_skip_weekends_and_holidays() -> None:
    assert add_working_days(dt.date(2026, 12, 18), 10) == dt.date(2027, 1, 5)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_hours(dt.datetime(2026, 1, 5, 9), 1, OPENING)


@given(
    start=st.datetimes(
        min_value=dt.datetime(2025, 1, 1),
        max_value=dt.datetime(2030, 1, 1),
        timezones=st.just(OSLO),
    ),
    hours=st.integers(min_value=1, max_value=200),
)
def test_a_due_time_always_falls_within_opening_hours_of_a_working_day(
    start: dt.datetime, hours: int
) -> None:
    due = add_working_hours(start, hours, OPENING).astimezone(OSLO)
    assert due > start
    assert is_working_day(due.date())
    assert dt.time(8) < due.time() <= dt.time(16)
