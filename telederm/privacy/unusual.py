"""Which accesses a privacy officer should look at first.

Four signs, each cheap to compute over a period's entries:
- break-glass: the person opened a case outside their access, with a reason;
- no recorded relationship: they read a patient's information but are not the patient, never
  sent, took, answered or triaged any of the patient's cases, and held no grant — they looked and
  never acted;
- out of hours: outside the clinic's day (07–17 on working days, Norwegian holidays off);
- many patients: more distinct patients within an hour than the configured threshold.
Reads of lists (queues, "my cases") show many patients by design and count for none of these.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from telederm.core.calendar import OSLO, is_working_day

DAY_STARTS = dt.time(7, 0)
DAY_ENDS = dt.time(17, 0)


class Flag(enum.StrEnum):
    BREAK_GLASS = "break_glass"
    NO_RELATIONSHIP = "no_relationship"
    OUT_OF_HOURS = "out_of_hours"
    MANY_PATIENTS = "many_patients"

    @property
    def label(self) -> str:
        return str(LABELS[self])


LABELS = {
    Flag.BREAK_GLASS: _("Break-glass access"),
    Flag.NO_RELATIONSHIP: _("No recorded relationship"),
    Flag.OUT_OF_HOURS: _("Out of hours"),
    Flag.MANY_PATIENTS: _("Many patients in a short time"),
}


@dataclass(frozen=True)
class Entry:
    """The parts of an access-log entry the signs need."""

    index: int
    at: dt.datetime
    actor_id: int | None
    patient_uuid: uuid.UUID | None
    action: str
    basis: str
    kind: str
    is_patient_self: bool
    is_listing: bool


def is_out_of_hours(at: dt.datetime) -> bool:
    local = at.astimezone(OSLO)
    return not is_working_day(local.date()) or not DAY_STARTS <= local.time() < DAY_ENDS


def many_patient_bursts(
    entries: Sequence[Entry], *, threshold: int, window: dt.timedelta
) -> set[int]:
    """Indexes of entries at which a person had read more than `threshold` distinct patients
    within the preceding `window` (listings and the patient's own reads not counted)."""
    flagged: set[int] = set()
    by_actor: dict[int, list[Entry]] = {}
    for entry in entries:
        if entry.actor_id is None or entry.patient_uuid is None:
            continue
        if entry.is_listing or entry.is_patient_self or entry.kind != "read":
            continue
        by_actor.setdefault(entry.actor_id, []).append(entry)
    for actor_entries in by_actor.values():
        recent: deque[Entry] = deque()
        for entry in sorted(actor_entries, key=lambda e: (e.at, e.index)):
            recent.append(entry)
            while recent and entry.at - recent[0].at > window:
                recent.popleft()
            if len({e.patient_uuid for e in recent}) > threshold:
                flagged.add(entry.index)
    return flagged


def flags_for(
    entries: Sequence[Entry],
    *,
    related: set[tuple[int, uuid.UUID]],
    threshold: int,
    window: dt.timedelta = dt.timedelta(hours=1),
) -> dict[int, list[Flag]]:
    """The signs on each entry, by its index. `related` holds the (person, patient) pairs with a
    recorded relationship."""
    bursts = many_patient_bursts(entries, threshold=threshold, window=window)
    result: dict[int, list[Flag]] = {}
    for entry in entries:
        signs: list[Flag] = []
        if entry.basis == "break_glass" or entry.action == "case.break_glass":
            signs.append(Flag.BREAK_GLASS)
        if (
            entry.actor_id is not None
            and entry.patient_uuid is not None
            and not entry.is_patient_self
            and not entry.is_listing
            and (entry.actor_id, entry.patient_uuid) not in related
        ):
            signs.append(Flag.NO_RELATIONSHIP)
        if not entry.is_patient_self and entry.actor_id is not None and is_out_of_hours(entry.at):
            signs.append(Flag.OUT_OF_HOURS)
        if entry.index in bursts:
            signs.append(Flag.MANY_PATIENTS)
        result[entry.index] = signs
    return result


def pairs(entries: Iterable[Entry]) -> set[tuple[int, uuid.UUID]]:
    return {
        (e.actor_id, e.patient_uuid)
        for e in entries
        if e.actor_id is not None and e.patient_uuid is not None
    }
