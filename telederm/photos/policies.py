"""Who may see a photo.

A photo is seen on the footing of its own case; a photo of a lesion may also be seen by whoever may
open another case with photos of the same lesion, because comparing a lesion across dates is how a
dermatologist judges change. The access log records which footing was used.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from telederm.accounts.models import User
from telederm.cases.access import access_for_log
from telederm.cases.models import Case
from telederm.cases.policies import Basis
from telederm.cases.states import CaseStatus
from telederm.photos.models import Photo

# Photos of a case the patient never sent, or took back, are not shown through a later case.
_NOT_SHARED = frozenset({CaseStatus.DRAFT.value, CaseStatus.WITHDRAWN.value})


@dataclass(frozen=True)
class PhotoAccess:
    basis: str
    reason: str


def photo_access(user: User, photo: Photo, *, by_token: bool = False) -> PhotoAccess | None:
    """The footing on which this person may see this photo; None if they may not.

    `by_token`: a program holding the person's API token asks, not the person at the screen. A
    token sees a photo only through its own case, never on a break-glass basis (that is for the
    person at the screen, with a reason) and never through another case of the same lesion (the
    FHIR API never lists those), as `cases_visible_to(include_break_glass=False)` for the API.
    """
    direct = access_for_log(user, photo.case)
    if by_token:
        if direct is None or direct[0] == Basis.BREAK_GLASS:
            return None
        return PhotoAccess(*direct)
    if direct is not None:
        return PhotoAccess(*direct)
    if photo.lesion_id is None or photo.case.status in _NOT_SHARED:
        return None
    related = (
        Case.objects.filter(Q(photos__lesion_id=photo.lesion_id) | Q(lesions__pk=photo.lesion_id))
        .exclude(pk=photo.case_id)
        .distinct()
        .order_by("-created_at")
    )
    for case in related:
        via = access_for_log(user, case)
        if via is not None:
            reason = f"same lesion as case {case.uuid}"
            return PhotoAccess(via[0], f"{via[1]}; {reason}" if via[1] else reason)
    return None
