"""Photo services: lesions, uploads becoming photos, idempotent processing, who sees what."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django_tasks_db.models import DBTaskResult

from conftest import jpeg_bytes
from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case
from telederm.cases.services import CaseAlreadySent, CaseIncomplete, submit_case
from telederm.photos import services, sites
from telederm.photos.models import Lesion, Photo, Upload

pytestmark = pytest.mark.django_db


def stored_files(settings: Any) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "photos"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def upload_files(settings: Any) -> list[Path]:
    root = Path(settings.TELEDERM_UPLOAD_DIR)
    return sorted(root.glob("*.part")) if root.exists() else []


def a_site() -> tuple[str, str]:
    """Some valid body site and side, whatever the site list holds."""
    for code, _label in sites.choices():
        for side in ("left", "right", "midline"):
            if sites.is_valid(code, side):
                return code, side
    raise AssertionError("no valid body site")


def lesion_in(case: Case) -> Lesion:
    code, side = a_site()
    return services.add_lesion(by=case.created_by, case=case, body_site=code, laterality=side)


def photo_of(case: Case, lesion: Lesion | None, kind: str, shade: int = 0) -> Photo:
    return services.add_photo(
        by=case.created_by,
        case=case,
        upload=io.BytesIO(jpeg_bytes(size=(1200, 1000), colour=(200, 150, 100 + shade))),
        kind=kind,
        lesion=lesion,
        process_now=True,
    )


def test_a_photo_is_stored_as_three_renditions_and_its_upload_is_gone(
    make_case: Callable[..., Case], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = make_case(photos=0)
    with django_capture_on_commit_callbacks(execute=True):
        photo = photo_of(case, None, Photo.Kind.OVERVIEW)
    assert photo.is_ready
    assert len(stored_files(settings)) == 3
    assert photo.thumb_name.endswith("-thumb.jpg")
    assert str(case.patient.identifier) not in photo.full_name
    assert upload_files(settings) == []
    assert not Upload.objects.exists()


def test_an_arrived_photo_is_pending_with_its_processing_queued(
    make_case: Callable[..., Case],
) -> None:
    case = make_case(photos=0)
    photo = services.add_photo(by=case.created_by, case=case, upload=io.BytesIO(jpeg_bytes()))
    assert photo.is_pending
    task = DBTaskResult.objects.get(task_path="telederm.photos.tasks.process_photo")
    assert task.args_kwargs["kwargs"] == {"photo_uuid": str(photo.uuid)}
    with pytest.raises(Http404):  # nothing to see until it is processed
        services.open_photo(
            by=case.created_by, case_uuid=case.uuid, photo_uuid=photo.uuid, size="thumb"
        )


def test_processing_twice_changes_nothing_and_a_crashed_run_is_redone_cleanly(
    make_case: Callable[..., Case], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = make_case(photos=0)
    photo = services.add_photo(by=case.created_by, case=case, upload=io.BytesIO(jpeg_bytes()))

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("worker killed after writing the files")

    monkeypatch.setattr(services, "_finish", crash)
    with pytest.raises(RuntimeError):
        services.process_photo(photo_uuid=photo.uuid)
    monkeypatch.undo()
    assert len(stored_files(settings)) == 3  # files written, row not yet updated
    done = services.process_photo(photo_uuid=photo.uuid)
    again = services.process_photo(photo_uuid=photo.uuid)
    assert done.is_ready and again.is_ready
    assert (again.full_name, again.sha256) == (done.full_name, done.sha256)
    assert len(stored_files(settings)) == 3  # the rerun overwrote, no "_abc123" copies


def test_a_file_that_is_no_photo_is_refused_with_a_reason_and_leaves_no_files(
    make_case: Callable[..., Case], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = make_case(photos=0)
    with django_capture_on_commit_callbacks(execute=True):
        photo = services.add_photo(
            by=case.created_by,
            case=case,
            upload=io.BytesIO(b"%PDF-1.7 not a photo"),
            process_now=True,
        )
    assert photo.is_rejected
    assert photo.rejection == "not_an_image" or photo.rejection == "unsupported"
    assert photo.rejection_text
    assert stored_files(settings) == []
    assert upload_files(settings) == []


def test_the_same_file_twice_is_refused_at_once(
    make_case: Callable[..., Case], settings: Any
) -> None:
    case = make_case(photos=0)
    first = photo_of(case, None, Photo.Kind.OVERVIEW)
    second = photo_of(case, None, Photo.Kind.CLOSE_UP)
    assert first.is_ready
    assert (second.status, second.rejection) == (Photo.Status.REJECTED, "duplicate")
    assert not Upload.objects.exists()  # neither upload is kept once its photo is settled
    assert "already" in second.rejection_text
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


def test_a_lesion_needs_a_known_site_and_a_fitting_side(make_case: Callable[..., Case]) -> None:
    case = make_case(photos=0)
    with pytest.raises(services.PhotoNotAdded):
        services.add_lesion(by=case.created_by, case=case, body_site="nowhere", laterality="left")
    lesion = lesion_in(case)
    assert list(services.lesions_of(case)) == [lesion]
    assert AccessEvent.objects.filter(action="lesion.add", case_uuid=case.uuid).exists()


def test_a_case_is_sent_only_with_an_overview_and_a_close_up_of_each_lesion(
    make_case: Callable[..., Case],
) -> None:
    case = make_case(photos=0)
    lesion = lesion_in(case)
    photo_of(case, lesion, Photo.Kind.OVERVIEW)
    case.refresh_from_db()
    with pytest.raises(CaseIncomplete, match="overview and a close-up"):
        submit_case(by=case.created_by, case=case, expected_version=case.version)
    photo_of(case, lesion, Photo.Kind.CLOSE_UP, shade=9)
    case.refresh_from_db()
    sent = submit_case(by=case.created_by, case=case, expected_version=case.version)
    assert sent.status == "submitted"


def test_a_case_waits_for_its_photos_to_be_checked(make_case: Callable[..., Case]) -> None:
    case = make_case(photos=0)
    services.add_photo(by=case.created_by, case=case, upload=io.BytesIO(jpeg_bytes()))
    case.refresh_from_db()
    with pytest.raises(CaseIncomplete, match="still being checked"):
        submit_case(by=case.created_by, case=case, expected_version=case.version)


def test_a_later_case_photographs_the_same_lesion_and_the_clinic_compares(
    make_case: Callable[..., Case], dermatologist: User, other_patient_user: User
) -> None:
    first = make_case(photos=0)
    lesion = lesion_in(first)
    photo_of(first, lesion, Photo.Kind.OVERVIEW)
    old = photo_of(first, lesion, Photo.Kind.CLOSE_UP, shade=5)
    first.refresh_from_db()
    submit_case(by=first.created_by, case=first, expected_version=first.version)

    second = make_case(photos=0)
    assert list(services.earlier_lesions(by=second.created_by, case=second)) == [lesion]
    photo_of(second, lesion, Photo.Kind.OVERVIEW, shade=20)
    new = photo_of(second, lesion, Photo.Kind.CLOSE_UP, shade=25)
    assert list(services.lesions_of(second)) == [lesion]
    second.refresh_from_db()
    submit_case(by=second.created_by, case=second, expected_version=second.version)

    found, photos = services.lesion_history(by=dermatologist, case=second, lesion_uuid=lesion.uuid)
    assert found == lesion
    assert [p.uuid for p in photos][1] == old.uuid and photos[-1].uuid == new.uuid
    with pytest.raises(Http404):  # a lesion that is not the case's
        services.lesion_history(by=dermatologist, case=second, lesion_uuid=uuid.uuid4())
    with pytest.raises(Http404):
        services.open_photo(
            by=other_patient_user, case_uuid=first.uuid, photo_uuid=old.uuid, size="thumb"
        )


def test_an_upload_may_only_start_for_a_draft_the_person_may_change(
    make_case: Callable[..., Case], other_patient_user: User
) -> None:
    case = make_case(photos=0)
    by = case.created_by
    metadata = {"case": str(case.uuid), "kind": "overview", "filename": "IMG_0001.HEIC"}
    kept = services.authorise_upload(by=by, metadata=metadata, length=1000)
    assert kept["filename"] == "IMG_0001.HEIC" and kept["lesion"] == ""
    with pytest.raises(Http404):
        services.authorise_upload(by=other_patient_user, metadata=metadata, length=1000)
    with pytest.raises(services.UploadRefused):
        services.authorise_upload(by=by, metadata={**metadata, "kind": "selfie"}, length=1000)
    with pytest.raises(services.UploadRefused):
        services.authorise_upload(by=by, metadata={"kind": "overview"}, length=1000)
    other_case = make_case(by=other_patient_user, patient=other_patient_user.patient, photos=0)
    foreign = lesion_in(other_case)
    with pytest.raises(services.UploadRefused):
        services.authorise_upload(
            by=by, metadata={**metadata, "lesion": str(foreign.uuid)}, length=1
        )
