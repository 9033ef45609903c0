"""The signs of unusual access, as pure functions over entries."""

from __future__ import annotations

import datetime as dt
import uuid

from telederm.core.calendar import OSLO
from telederm.privacy.unusual import Entry, Flag, flags_for, is_out_of_hours, many_patient_bursts

MONDAY_NOON = dt.datetime(2026, 11, 23, 12, 0, tzinfo=OSLO)


def entry(index: int, at: dt.datetime, patient: uuid.UUID | None = None, **kw: object) -> Entry:
    values: dict[str, object] = {
        "index": index,
        "at": at,
        "actor_id": 7,
        "patient_uuid": patient or uuid.uuid4(),
        "action": "case.view",
        "basis": "pool",
        "kind": "read",
        "is_patient_self": False,
        "is_listing": False,
    }
    values.update(kw)
    return Entry(**values)  # type: ignore[arg-type]


def test_out_of_hours_is_outside_seven_to_five_on_working_days() -> None:
    assert not is_out_of_hours(MONDAY_NOON)
    assert is_out_of_hours(MONDAY_NOON.replace(hour=6, minute=59))
    assert is_out_of_hours(MONDAY_NOON.replace(hour=17))
    assert is_out_of_hours(MONDAY_NOON - dt.timedelta(days=1))  # Sunday
    assert is_out_of_hours(dt.datetime(2026, 12, 25, 12, 0, tzinfo=OSLO))  # Christmas Day


def test_many_patients_within_an_hour_is_flagged_from_the_first_one_over() -> None:
    entries = [entry(i, MONDAY_NOON + dt.timedelta(minutes=i)) for i in range(5)]
    assert many_patient_bursts(entries, threshold=3, window=dt.timedelta(hours=1)) == {3, 4}
    spread = [entry(i, MONDAY_NOON + dt.timedelta(hours=i)) for i in range(5)]
    assert not many_patient_bursts(spread, threshold=3, window=dt.timedelta(hours=1))
    one_patient = uuid.uuid4()
    same = [entry(i, MONDAY_NOON + dt.timedelta(minutes=i), one_patient) for i in range(9)]
    assert not many_patient_bursts(same, threshold=3, window=dt.timedelta(hours=1))
    lists = [entry(i, MONDAY_NOON, is_listing=True) for i in range(9)]
    assert not many_patient_bursts(lists, threshold=3, window=dt.timedelta(hours=1))


def test_each_sign_on_its_entry() -> None:
    patient = uuid.uuid4()
    entries = [
        entry(0, MONDAY_NOON, patient),
        entry(1, MONDAY_NOON, patient, basis="break_glass"),
        entry(2, MONDAY_NOON.replace(hour=23), patient),
        entry(3, MONDAY_NOON, patient, actor_id=8, is_patient_self=True),
        entry(4, MONDAY_NOON, patient, is_listing=True),
    ]
    flags = flags_for(entries, related={(7, patient)}, threshold=20)
    assert flags[0] == []
    assert flags[1] == [Flag.BREAK_GLASS]
    assert flags[2] == [Flag.OUT_OF_HOURS]
    assert flags[3] == []
    assert flags[4] == []
    unrelated = flags_for(entries, related=set(), threshold=20)
    assert Flag.NO_RELATIONSHIP in unrelated[0]
    assert Flag.NO_RELATIONSHIP not in unrelated[4]  # lists show many patients by design
