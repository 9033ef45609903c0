"""Working time in Norway: weekdays within opening hours, minus Norwegian public holidays.

Pure logic: no ORM, no settings. The service's answer clocks and the legal 10-working-day
assessment deadline (pasient- og brukerrettighetsloven § 2-2) are counted with it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

OSLO = ZoneInfo("Europe/Oslo")


@lru_cache(maxsize=64)
def _norwegian_holidays(year: int) -> frozenset[dt.date]:
    # holidays.Norway also lists every Sunday as "Søndag" by default; we count weekends apart.
    return frozenset(holidays.country_holidays("NO", years=year, include_sundays=False).keys())


def is_public_holiday(day: dt.date) -> bool:
    return day in _norwegian_holidays(day.year)


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and not is_public_holiday(day)


@dataclass(frozen=True)
class WorkingHours:
    """Opening hours of the service, in Oslo local time, as whole hours."""

    start_hour: int = 8
    end_hour: int = 16

    def __post_init__(self) -> None:
        if not 0 <= self.start_hour < self.end_hour <= 24:
            raise ValueError("working hours must satisfy 0 <= start < end <= 24")


def add_working_hours(start: dt.datetime, hours: float, opening: WorkingHours) -> dt.datetime:
    """The moment `hours` working hours after `start` (aware), returned in Europe/Oslo time.

    Time outside opening hours, weekends and public holidays does not count, so a case sent on
    Friday evening with 8 working hours is due at closing time on Monday.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    remaining = dt.timedelta(hours=hours)
    cursor = start.astimezone(OSLO)
    while True:
        day = cursor.date()
        opens = dt.datetime.combine(day, dt.time(opening.start_hour), OSLO)
        closes = (
            dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), OSLO)
            if opening.end_hour == 24
            else dt.datetime.combine(day, dt.time(opening.end_hour), OSLO)
        )
        if is_working_day(day) and cursor < closes:
            cursor = max(cursor, opens)
            available = closes - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
        next_day = day + dt.timedelta(days=1)
        cursor = dt.datetime.combine(next_day, dt.time(0), OSLO)


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date `days` working days after `start` (the legal assessment deadline is 10)."""
    day = start
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


@dataclass(frozen=True)
class PriorityClock:
    """How long a priority class gives the service: `hours`, counted in working hours
    ("working") or around the clock ("continuous")."""

    hours: float
    counting: str = "working"

    def __post_init__(self) -> None:
        if self.counting not in {"working", "continuous"}:
            raise ValueError("counting must be 'working' or 'continuous'")
        if self.hours <= 0:
            raise ValueError("hours must be positive")


def due_after(start: dt.datetime, clock: PriorityClock, opening: WorkingHours) -> dt.datetime:
    """When something started at `start` (aware) is due under `clock`, in Europe/Oslo time."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if clock.counting == "continuous":
        # Elapsed time, not wall-clock time: 24 hours across a DST change is 24 real hours.
        return (start.astimezone(dt.UTC) + dt.timedelta(hours=clock.hours)).astimezone(OSLO)
    return add_working_hours(start, clock.hours, opening)
