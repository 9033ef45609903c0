"""The case state machine as data: which transitions exist. Pure logic, no database.

DESIGN.md: draft → submitted → triaged → in_review → answered → closed, with the side paths
info_requested (back to submitted when the patient replies), video_scheduled, referred,
escalated (emergency) and withdrawn.
"""

from __future__ import annotations

import enum


class CaseStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    TRIAGED = "triaged"
    IN_REVIEW = "in_review"
    INFO_REQUESTED = "info_requested"
    ANSWERED = "answered"
    VIDEO_SCHEDULED = "video_scheduled"
    REFERRED = "referred"
    ESCALATED = "escalated"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"


S = CaseStatus

TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    # A draft goes straight to escalated when its symptom check finds an emergency.
    S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN, S.ESCALATED}),
    # A dermatologist may take a submitted case straight into review when no triage is needed;
    # a duty nurse may close it with self-care advice.
    S.SUBMITTED: frozenset(
        {S.TRIAGED, S.IN_REVIEW, S.ESCALATED, S.INFO_REQUESTED, S.WITHDRAWN, S.CLOSED}
    ),
    S.TRIAGED: frozenset({S.IN_REVIEW, S.ESCALATED, S.INFO_REQUESTED, S.WITHDRAWN, S.CLOSED}),
    S.IN_REVIEW: frozenset(
        {
            S.ANSWERED,
            S.INFO_REQUESTED,
            S.VIDEO_SCHEDULED,
            S.REFERRED,
            S.ESCALATED,
            S.TRIAGED,
            S.CLOSED,
        }
    ),
    S.INFO_REQUESTED: frozenset({S.SUBMITTED, S.WITHDRAWN, S.ESCALATED}),
    S.VIDEO_SCHEDULED: frozenset({S.IN_REVIEW, S.ANSWERED, S.REFERRED, S.ESCALATED}),
    S.ANSWERED: frozenset({S.CLOSED, S.REFERRED, S.VIDEO_SCHEDULED, S.ESCALATED}),
    S.REFERRED: frozenset({S.CLOSED}),
    # Once the emergency is handled, the duty nurse closes it or sends it on for review.
    S.ESCALATED: frozenset({S.CLOSED, S.TRIAGED}),
    S.WITHDRAWN: frozenset(),
    S.CLOSED: frozenset(),
}

# Cases a clinician still has to act on: they sit in a queue with a due time.
OPEN_IN_QUEUE: frozenset[CaseStatus] = frozenset({S.ESCALATED, S.SUBMITTED, S.TRIAGED, S.IN_REVIEW})


class IllegalTransition(Exception):
    def __init__(self, current: CaseStatus, target: CaseStatus) -> None:
        super().__init__(f"A case cannot go from {current} to {target}.")
        self.current = current
        self.target = target


def check_transition(current: CaseStatus, target: CaseStatus) -> None:
    """Raise IllegalTransition unless the state machine allows current → target."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
