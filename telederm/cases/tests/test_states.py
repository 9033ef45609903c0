"""The case state machine as data: pure, no database."""

from __future__ import annotations

import pytest

from telederm.cases.states import TRANSITIONS, CaseStatus, IllegalTransition, check_transition


def test_every_state_has_a_transition_entry() -> None:
    assert set(TRANSITIONS) == set(CaseStatus)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (CaseStatus.DRAFT, CaseStatus.SUBMITTED),
        (CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW),
        (CaseStatus.IN_REVIEW, CaseStatus.ANSWERED),
        (CaseStatus.INFO_REQUESTED, CaseStatus.SUBMITTED),
        (CaseStatus.ANSWERED, CaseStatus.CLOSED),
    ],
)
def test_the_main_path_is_allowed(current: CaseStatus, target: CaseStatus) -> None:
    check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (CaseStatus.DRAFT, CaseStatus.ANSWERED),
        (CaseStatus.SUBMITTED, CaseStatus.SUBMITTED),
        (CaseStatus.ANSWERED, CaseStatus.DRAFT),
        (CaseStatus.WITHDRAWN, CaseStatus.SUBMITTED),
        (CaseStatus.CLOSED, CaseStatus.IN_REVIEW),
    ],
)
def test_shortcuts_and_reversals_are_refused(current: CaseStatus, target: CaseStatus) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(current, target)


def test_an_emergency_can_be_escalated_from_every_queue_state() -> None:
    for state in (CaseStatus.SUBMITTED, CaseStatus.TRIAGED, CaseStatus.IN_REVIEW):
        check_transition(state, CaseStatus.ESCALATED)
