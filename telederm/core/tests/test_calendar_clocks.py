"""Priority clocks across Norwegian holidays and the nights the clocks change. Pure, no database.

Oslo moves from CET (UTC+1) to CEST (UTC+2) at 02:00 on the last Sunday of March, and back at
03:00 on the last Sunday of October. A clock that counts hours must count real hours: 6 hours
from Saturday 22:00 end at 06:00 on the spring night (only 5 hours on the wall clock would be
04:00) and at 03:00 on the autumn night.
"""

from __future__ import annotations

import datetime as dt

import pytest

from telederm.core.calendar import (
    OSLO,
    PriorityClock,
    WorkingHours,
    add_working_days,
    add_working_hours,
    due_after,
    is_public_holiday,
    is_working_day,
    time_left,
)

OFFICE = WorkingHours(8, 16)
ROUND_THE_CLOCK_WEEKDAYS = WorkingHours(0, 24)
ALWAYS_OPEN = WorkingHours(0, 24, every_day=True)
CONTINUOUS = PriorityClock(hours=6, counting="continuous")

SPRING_FORWARD_2026 = dt.date(2026, 3, 29)
FALL_BACK_2026 = dt.date(2026, 10, 25)


def oslo(*args: int, fold: int = 0) -> dt.datetime:
    return dt.datetime(*args, tzinfo=OSLO, fold=fold)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def real_hours(start: dt.datetime, end: dt.datetime) -> float:
    return (end.astimezone(dt.UTC) - start.astimezone(dt.UTC)).total_seconds() / 3600


def test_the_dst_dates_are_the_last_sundays() -> None:
    assert SPRING_FORWARD_2026.weekday() == 6 and FALL_BACK_2026.weekday() == 6
    assert oslo(2026, 3, 29, 1).utcoffset() == dt.timedelta(hours=1)
    assert oslo(2026, 3, 29, 4).utcoffset() == dt.timedelta(hours=2)
    assert oslo(2026, 10, 25, 4).utcoffset() == dt.timedelta(hours=1)


# -- Daylight saving time -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected_utc", "expected_wall_hour"),
    [
        # Spring: Saturday 22:00 CET (21:00 UTC) + 6 h = 03:00 UTC = 05:00 CEST; the wall clock
        # shows 7 hours gone, because 02:00-03:00 never happened.
        (oslo(2026, 3, 28, 22), utc(2026, 3, 29, 3), 5),
        # Autumn: Saturday 22:00 CEST (20:00 UTC) + 6 h = 02:00 UTC = 03:00 CET; 02:00-03:00 came
        # twice, so the wall clock shows only 5 hours gone.
        (oslo(2026, 10, 24, 22), utc(2026, 10, 25, 2), 3),
    ],
)
def test_continuous_clocks_count_real_hours_across_dst(
    start: dt.datetime, expected_utc: dt.datetime, expected_wall_hour: int
) -> None:
    due = due_after(start, CONTINUOUS, OFFICE)
    assert due == expected_utc
    assert due.tzinfo is OSLO and due.hour == expected_wall_hour
    assert real_hours(start, due) == 6


@pytest.mark.parametrize(
    ("start", "expected_utc"),
    [
        (oslo(2026, 3, 28, 22), utc(2026, 3, 29, 3)),
        (oslo(2026, 10, 24, 22), utc(2026, 10, 25, 2)),
        # Starting inside the repeated hour (the second 02:30, CET) in autumn.
        (oslo(2026, 10, 25, 2, 30, fold=1), utc(2026, 10, 25, 7, 30)),
        # Starting just before the jump in spring: 01:30 CET + 6 h = 06:30 UTC = 08:30 CEST.
        (oslo(2026, 3, 29, 1, 30), utc(2026, 3, 29, 6, 30)),
    ],
)
def test_a_service_open_day_and_night_every_day_counts_real_hours_across_dst(
    start: dt.datetime, expected_utc: dt.datetime
) -> None:
    due = add_working_hours(start, 6, ALWAYS_OPEN)
    assert due == expected_utc
    assert due == due_after(start, PriorityClock(6, "continuous"), OFFICE)


@pytest.mark.parametrize("day", [SPRING_FORWARD_2026, FALL_BACK_2026])
def test_a_dst_day_open_round_the_clock_has_its_real_length(day: dt.date) -> None:
    # Midnight to midnight is 23 real hours in spring and 25 in autumn.
    length = 23 if day.month == 3 else 25
    start = oslo(day.year, day.month, day.day)
    assert add_working_hours(start, length, ALWAYS_OPEN) == oslo(day.year, day.month, day.day + 1)
    assert real_hours(start, oslo(day.year, day.month, day.day + 1)) == length


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # Open 0-24 on working days only: the Sunday the clocks change does not count at all,
        # and the hours on Monday are real hours from midnight CEST / CET.
        (oslo(2026, 3, 27, 22), 4, oslo(2026, 3, 30, 2)),
        (oslo(2026, 10, 23, 22), 4, oslo(2026, 10, 26, 2)),
        # Saturday evening + 24 h: the whole of Monday.
        (oslo(2026, 3, 28, 20), 24, oslo(2026, 3, 31, 0)),
        (oslo(2026, 10, 24, 20), 24, oslo(2026, 10, 27, 0)),
    ],
)
def test_round_the_clock_weekday_hours_skip_the_dst_sunday(
    start: dt.datetime, hours: float, expected: dt.datetime
) -> None:
    assert add_working_hours(start, hours, ROUND_THE_CLOCK_WEEKDAYS) == expected


def test_office_hours_after_a_dst_weekend_are_unaffected() -> None:
    # Friday 15:00 + 2 working hours: one on Friday, one on Monday from 08:00 CEST.
    assert add_working_hours(oslo(2026, 3, 27, 15), 2, OFFICE) == oslo(2026, 3, 30, 9)
    assert add_working_hours(oslo(2026, 10, 23, 15), 2, OFFICE) == oslo(2026, 10, 26, 9)


def test_a_start_given_in_utc_is_read_in_oslo_time() -> None:
    # 06:30 UTC on a winter Monday is 07:30 in Oslo: before opening, so counting starts at 08:00.
    assert add_working_hours(utc(2026, 11, 23, 6, 30), 1, OFFICE) == oslo(2026, 11, 23, 9)


# -- Holidays -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "holiday"),
    [
        (dt.date(2026, 4, 2), True),  # Skjærtorsdag (Maundy Thursday)
        (dt.date(2026, 4, 3), True),  # Langfredag (Good Friday)
        (dt.date(2026, 4, 5), True),  # Første påskedag
        (dt.date(2026, 4, 6), True),  # Andre påskedag (Easter Monday)
        (dt.date(2026, 4, 7), False),
        (dt.date(2026, 5, 1), True),  # Arbeidernes dag
        (dt.date(2026, 5, 14), True),  # Kristi himmelfartsdag (Ascension)
        (dt.date(2026, 5, 17), True),  # Grunnlovsdag
        (dt.date(2026, 5, 25), True),  # Andre pinsedag (Whit Monday)
        # Julaften (24 December) is not a public holiday in Norway, and `holidays` agrees: many
        # offices close at noon by custom or agreement, but the law's clock keeps running. We
        # follow the library; a service that closes can shorten its hours by configuration.
        (dt.date(2026, 12, 24), False),
        (dt.date(2026, 12, 25), True),
        (dt.date(2026, 12, 26), True),
        (dt.date(2026, 12, 31), False),  # Nyttårsaften: not a holiday either
        (dt.date(2027, 1, 1), True),
    ],
)
def test_norwegian_public_holidays(day: dt.date, holiday: bool) -> None:
    assert is_public_holiday(day) is holiday


def test_easter_from_maundy_thursday_to_easter_monday_does_not_count() -> None:
    # Wednesday 1 April 2026, 12:00 + 8 working hours: 4 on Wednesday, then five days off
    # (Thursday, Friday, the weekend, Monday), then 4 on Tuesday 7 April.
    assert add_working_hours(oslo(2026, 4, 1, 12), 8, OFFICE) == oslo(2026, 4, 7, 12)


def test_a_case_sent_on_good_friday_starts_counting_on_the_tuesday() -> None:
    assert add_working_hours(oslo(2026, 4, 3, 10), 1, OFFICE) == oslo(2026, 4, 7, 9)


def test_17_may_on_a_weekday_does_not_count() -> None:
    # 2027: 17 May is a Monday (and Whit Monday as well).
    assert not is_working_day(dt.date(2027, 5, 17))
    assert add_working_hours(oslo(2027, 5, 14, 15), 2, OFFICE) == oslo(2027, 5, 18, 9)


def test_ascension_and_whit_monday_do_not_count() -> None:
    # Wednesday 13 May 2026 15:00 + 2 h: Thursday is Ascension, so Friday 09:00.
    assert add_working_hours(oslo(2026, 5, 13, 15), 2, OFFICE) == oslo(2026, 5, 15, 9)
    # Friday 22 May 15:00 + 2 h: weekend and Whit Monday, so Tuesday 26 May 09:00.
    assert add_working_hours(oslo(2026, 5, 22, 15), 2, OFFICE) == oslo(2026, 5, 26, 9)


def test_christmas_eve_counts_but_christmas_and_boxing_day_do_not() -> None:
    # Wednesday 23 December 2026 15:00 + 10 h: 1 h Wednesday, 8 h on Christmas Eve (a Thursday),
    # Christmas Day and Boxing Day off, weekend, so the last hour is Monday 28 December.
    assert add_working_hours(oslo(2026, 12, 23, 15), 10, OFFICE) == oslo(2026, 12, 28, 9)


def test_new_years_day_does_not_count() -> None:
    assert add_working_hours(oslo(2026, 12, 31, 15), 2, OFFICE) == oslo(2027, 1, 4, 9)


def test_a_service_open_every_day_counts_holidays() -> None:
    assert add_working_hours(oslo(2026, 12, 25, 10), 2, WorkingHours(8, 16, every_day=True)) == (
        oslo(2026, 12, 25, 12)
    )


# -- The legal 10-working-day assessment deadline -------------------------------------------------


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        (dt.date(2026, 11, 23), dt.date(2026, 12, 7)),  # an ordinary fortnight
        (dt.date(2026, 3, 30), dt.date(2026, 4, 16)),  # Easter: five days off in the middle
        (dt.date(2026, 5, 8), dt.date(2026, 5, 26)),  # Ascension, 17 May (Sunday), Whit Monday
        (dt.date(2026, 12, 18), dt.date(2027, 1, 5)),  # Christmas and New Year
        (dt.date(2026, 4, 3), dt.date(2026, 4, 20)),  # received on Good Friday
    ],
)
def test_ten_working_days(received: dt.date, deadline: dt.date) -> None:
    assert add_working_days(received, 10) == deadline
    assert is_working_day(deadline)


# -- Time left, for display -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "due", "overdue", "days", "hours", "minutes"),
    [
        (utc(2026, 1, 5, 8), utc(2026, 1, 5, 10, 10), False, 0, 2, 10),
        (utc(2026, 1, 5, 8), utc(2026, 1, 5, 8, 0, 59), False, 0, 0, 0),
        (utc(2026, 1, 5, 11), utc(2026, 1, 5, 8), True, 0, 3, 0),
        (utc(2026, 1, 5, 8), utc(2026, 1, 5, 8), True, 0, 0, 0),
        (utc(2026, 1, 5, 8), utc(2026, 1, 6, 14), False, 0, 30, 0),  # under two days: hours
        (utc(2026, 1, 5, 8), utc(2026, 1, 9, 9, 5), False, 4, 1, 5),
        # Real time across the spring change: 22:00 CET to 06:00 CEST is 7 hours, not 8.
        (oslo(2026, 3, 28, 22), oslo(2026, 3, 29, 6), False, 0, 7, 0),
    ],
)
def test_time_left(
    now: dt.datetime, due: dt.datetime, overdue: bool, days: int, hours: int, minutes: int
) -> None:
    left = time_left(now, due)
    assert (left.overdue, left.days, left.hours, left.minutes) == (overdue, days, hours, minutes)


def test_time_left_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="aware"):
        time_left(dt.datetime(2026, 1, 5), utc(2026, 1, 5))
