"""Photo services: a refused or failed photo leaves neither a row nor a file."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from conftest import jpeg_bytes
from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case
from telederm.cases.services import CaseAlreadySent
from telederm.photos import services
from telederm.photos.models import Photo
from telederm.photos.processing import PhotoRejected

pytestmark = pytest.mark.django_db


def stored_files(settings: Any) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "photos"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_photo_is_stored_as_three_renditions(
    make_case: Callable[..., Case], settings: Any
) -> None:
    case = make_case(photos=1)
    photo = case.photos.get()
    assert len(stored_files(settings)) == 3
    assert photo.thumb_name.endswith("-thumb.jpg")
    assert str(case.patient.identifier) not in photo.full_name


def test_a_broken_photo_is_refused_and_leaves_nothing(
    make_case: Callable[..., Case], settings: Any
) -> None:
    case = make_case(photos=0)
    with pytest.raises(PhotoRejected):
        services.add_photo(by=case.created_by, case=case, upload=io.BytesIO(b"not an image"))
    assert not Photo.objects.exists()
    assert stored_files(settings) == []


def test_the_same_photo_twice_is_refused_and_its_files_removed(
    make_case: Callable[..., Case], settings: Any
) -> None:
    case = make_case(photos=0)
    services.add_photo(by=case.created_by, case=case, upload=io.BytesIO(jpeg_bytes()))
    with pytest.raises(services.PhotoNotAdded, match="already in the case"):
        services.add_photo(by=case.created_by, case=case, upload=io.BytesIO(jpeg_bytes()))
    assert Photo.objects.count() == 1
    assert len(stored_files(settings)) == 3


def test_photos_cannot_be_added_after_sending(make_case: Callable[..., Case]) -> None:
    case = make_case(submit=True)
    with pytest.raises(PermissionDenied):
        services.add_photo(
            by=case.created_by, case=case, upload=io.BytesIO(jpeg_bytes(colour=(1, 2, 3)))
        )
    assert case.photos.count() == 1


def test_a_photo_removed_from_a_sent_case_is_refused(make_case: Callable[..., Case]) -> None:
    case = make_case(submit=True)
    with pytest.raises(CaseAlreadySent):
        services.remove_photo(by=case.created_by, photo=case.photos.get())


def test_removing_a_photo_deletes_its_files(
    make_case: Callable[..., Case], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = make_case(photos=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.remove_photo(by=case.created_by, photo=case.photos.get())
    assert stored_files(settings) == []


def test_opening_a_photo_checks_the_policy_and_logs_the_read(
    make_case: Callable[..., Case], other_patient_user: User, dermatologist: User
) -> None:
    case = make_case(submit=True)
    photo = case.photos.get()
    with pytest.raises(Http404):
        services.open_photo(
            by=other_patient_user, case_uuid=case.uuid, photo_uuid=photo.uuid, size="full"
        )
    _, handle = services.open_photo(
        by=dermatologist, case_uuid=case.uuid, photo_uuid=photo.uuid, size="screen"
    )
    assert handle.read(2) == b"\xff\xd8"  # a JPEG
    handle.close()
    event = AccessEvent.objects.get(action="photo.view")
    assert (event.actor, event.object_uuid, event.kind) == (dermatologist, photo.uuid, "read")
