"""A lesion's earlier photos are seen through a later case of the same lesion, and no further."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.http import Http404

from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case
from telederm.cases.services import submit_case
from telederm.photos import services
from telederm.photos.models import Photo
from telederm.photos.tests.test_services import lesion_in, photo_of
from telederm.review.services import take_for_review

pytestmark = pytest.mark.django_db


def test_an_earlier_photo_of_the_lesion_is_opened_on_the_footing_of_the_new_case(
    make_case: Callable[..., Case],
    dermatologist: User,
    other_dermatologist: User,
    other_patient_user: User,
) -> None:
    first = make_case(photos=0)
    lesion = lesion_in(first)
    old = photo_of(first, lesion, Photo.Kind.OVERVIEW)
    draft_only = make_case(photos=0)
    unsent = photo_of(draft_only, lesion, Photo.Kind.CLOSE_UP, shade=24)
    photo_of(first, lesion, Photo.Kind.CLOSE_UP, shade=12)
    first.refresh_from_db()
    first = submit_case(by=first.created_by, case=first, expected_version=first.version)
    take_for_review(by=other_dermatologist, case=first, expected_version=first.version)
    second = make_case(photos=0)
    photo_of(second, lesion, Photo.Kind.OVERVIEW, shade=30)
    photo_of(second, lesion, Photo.Kind.CLOSE_UP, shade=31)
    second.refresh_from_db()
    submit_case(by=second.created_by, case=second, expected_version=second.version)
    # The first case is a colleague's, yet its photo of the same lesion may be seen by whoever
    # may open the second; the log says on which footing.
    _, handle = services.open_photo(
        by=dermatologist, case_uuid=first.uuid, photo_uuid=old.uuid, size="thumb"
    )
    handle.close()
    event = AccessEvent.objects.filter(action="photo.view").latest("sequence")
    assert event.basis == "pool" and str(second.uuid) in event.reason
    with pytest.raises(Http404):  # a draft the patient never sent stays theirs
        services.open_photo(
            by=dermatologist, case_uuid=draft_only.uuid, photo_uuid=unsent.uuid, size="thumb"
        )
    with pytest.raises(Http404):
        services.open_photo(
            by=other_patient_user, case_uuid=first.uuid, photo_uuid=old.uuid, size="thumb"
        )
