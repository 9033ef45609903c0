"""The one place the code asks what time it is, so tests and the demo can move time deliberately."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.utils import timezone

_frozen: ContextVar[dt.datetime | None] = ContextVar("telederm_frozen_now", default=None)


def now() -> dt.datetime:
    """The current time, timezone-aware (UTC inside the database, Europe/Oslo when shown)."""
    return _frozen.get() or timezone.now()


@contextmanager
def frozen_at(moment: dt.datetime) -> Iterator[None]:
    """Make `now()` return `moment` inside the block (demo data with a past, and tests)."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    token = _frozen.set(moment)
    try:
        yield
    finally:
        _frozen.reset(token)
