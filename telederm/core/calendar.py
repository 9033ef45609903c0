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
    """Opening hours of the service, in Oslo local time, as whole hours.

    `every_day` opens the service on weekends and public holidays too (a 24/7 duty service is
    `WorkingHours(0, 24, every_day=True)`); by default only working days count.
    """

    start_hour: int = 8
    end_hour: int = 16
    every_day: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.start_hour < self.end_hour <= 24:
            raise ValueError("working hours must satisfy 0 <= start < end <= 24")

    def is_open_on(self, day: dt.date) -> bool:
        return self.every_day or is_working_day(day)


def _oslo_hour(day: dt.date, hour: int) -> dt.datetime:
    """The moment the Oslo wall clock shows `hour`:00 on `day` (24 is the next midnight), in UTC.

    An hour the clock skips in spring (02:00 on the last Sunday of March) maps to the moment
    after the jump; an hour it repeats in autumn to its first occurrence (fold=0).
    """
    if hour == 24:
        day, hour = day + dt.timedelta(days=1), 0
    return dt.datetime.combine(day, dt.time(hour), OSLO).astimezone(dt.UTC)


def add_working_hours(start: dt.datetime, hours: float, opening: WorkingHours) -> dt.datetime:
    """The moment `hours` working hours after `start` (aware), returned in Europe/Oslo time.

    Time outside opening hours, weekends and public holidays does not count, so a case sent on
    Friday evening with 8 working hours is due at closing time on Monday.

    Every sum and difference is taken in UTC: Python adds to and subtracts aware datetimes that
    share a tzinfo in wall-clock time, which would make the night the clocks change an hour too
    long or too short. Opening and closing times are wall-clock hours converted to UTC per day.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    remaining = dt.timedelta(hours=hours)
    cursor = start.astimezone(dt.UTC)
    while True:
        day = cursor.astimezone(OSLO).date()
        opens = _oslo_hour(day, opening.start_hour)
        closes = _oslo_hour(day, opening.end_hour)
        if opening.is_open_on(day) and cursor < closes:
            cursor = max(cursor, opens)
            available = closes - cursor
            if remaining <= available:
                return (cursor + remaining).astimezone(OSLO)
            remaining -= available
        cursor = _oslo_hour(day + dt.timedelta(days=1), 0)


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


@dataclass(frozen=True)
class TimeLeft:
    """Time until a due moment, rounded down to whole minutes, for display.

    `overdue` is true once the due moment has passed; the other fields then count the time
    since. `days` is filled only for spans of two days or more (shorter spans read better in
    hours: "30 h left").
    """

    overdue: bool
    days: int
    hours: int
    minutes: int

    @property
    def total_minutes(self) -> int:
        return (self.days * 24 + self.hours) * 60 + self.minutes


def time_left(now: dt.datetime, due: dt.datetime) -> TimeLeft:
    """How long from `now` until `due` (both aware), or how long overdue; real elapsed time."""
    if now.tzinfo is None or due.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    delta = due.astimezone(dt.UTC) - now.astimezone(dt.UTC)
    overdue = delta <= dt.timedelta(0)
    minutes = int(abs(delta).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    days = 0
    if hours >= 48:
        days, hours = divmod(hours, 24)
    return TimeLeft(overdue=overdue, days=days, hours=hours, minutes=minutes)
