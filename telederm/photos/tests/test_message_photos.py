"""Photos sent with a message on a sent case: the patient side's retake, through the pipeline."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.http import Http404
from django.test import Client
from django.urls import reverse

from conftest import jpeg_bytes, sign_in
from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case, CaseEvent, Message
from telederm.cases.services import submit_case
from telederm.cases.states import CaseStatus
from telederm.cases.tests.test_messaging import _move, ask_for_info
from telederm.photos import message_photos, services
from telederm.photos.models import Lesion, Photo
from telederm.photos.services import PhotoNotAdded
from telederm.photos.tests.test_services import lesion_in, photo_of, upload_files

pytestmark = pytest.mark.django_db

MakeCase = Callable[..., Case]


def sent_case_with_a_lesion(make_case: MakeCase) -> tuple[Case, Lesion]:
    case = make_case(photos=0)
    lesion = lesion_in(case)
    photo_of(case, lesion, Photo.Kind.OVERVIEW, shade=1)
    photo_of(case, lesion, Photo.Kind.CLOSE_UP, shade=2)
    case.refresh_from_db()
    return submit_case(by=case.created_by, case=case, expected_version=case.version), lesion


def retake(shade: int = 40) -> io.BytesIO:
    return io.BytesIO(jpeg_bytes(size=(1200, 1000), colour=(120, 90, 60 + shade)))


def test_a_retake_arrives_with_the_patients_reply(
    make_case: MakeCase, patient_user: User, duty_nurse: User
) -> None:
    case, lesion = sent_case_with_a_lesion(make_case)
    case = ask_for_info(case, duty_nurse)
    message, photos = message_photos.send_message_with_photos(
        by=patient_user,
        case=case,
        body="Here is a sharper close-up.",
        files=[retake()],
        kind=Photo.Kind.CLOSE_UP,
        lesion_uuid=str(lesion.uuid),
    )
    [photo] = photos
    assert (photo.case_id, photo.message_id, photo.lesion_id) == (case.pk, message.pk, lesion.pk)
    assert photo.kind == Photo.Kind.CLOSE_UP and photo.is_pending
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED
    assert case.events.filter(action=CaseEvent.Action.PHOTO_ADDED).count() == 3
    assert AccessEvent.objects.filter(action="photo.add", object_uuid=photo.uuid).exists()
    call_command("worker", batch=True, interval=0.01)
    photo.refresh_from_db()
    assert photo.is_ready
    assert case.photos.ready().count() == 3


def upload_files_left() -> list[Any]:
    from django.conf import settings

    return upload_files(settings)


def test_the_one_lesion_of_a_case_is_chosen_by_itself(
    make_case: MakeCase, patient_user: User
) -> None:
    case, lesion = sent_case_with_a_lesion(make_case)
    _, [photo] = message_photos.send_message_with_photos(
        by=patient_user, case=case, body="New photo", files=[retake()]
    )
    assert photo.lesion_id == lesion.pk


def test_a_lesion_of_another_case_is_refused(make_case: MakeCase, patient_user: User) -> None:
    case, _ = sent_case_with_a_lesion(make_case)
    _, other = sent_case_with_a_lesion(make_case)
    before = upload_files_left()
    with pytest.raises(PhotoNotAdded):
        message_photos.send_message_with_photos(
            by=patient_user, case=case, body="x", files=[retake()], lesion_uuid=str(other.uuid)
        )
    assert not Message.objects.exists()
    assert upload_files_left() == before


def test_the_clinic_sends_no_photos(make_case: MakeCase, duty_nurse: User) -> None:
    case, _ = sent_case_with_a_lesion(make_case)
    with pytest.raises(PermissionDenied):
        message_photos.send_message_with_photos(
            by=duty_nurse, case=case, body="x", files=[retake()]
        )
    assert not Message.objects.exists()


def test_a_closed_case_takes_words_but_no_photos(
    make_case: MakeCase, patient_user: User, dermatologist: User
) -> None:
    case, _ = sent_case_with_a_lesion(make_case)
    case = _move(
        case,
        dermatologist,
        CaseStatus.IN_REVIEW,
        CaseEvent.Action.REVIEW_STARTED,
        assigned_to=dermatologist,
    )
    case = _move(case, dermatologist, CaseStatus.CLOSED, CaseEvent.Action.CLOSED)
    with pytest.raises(PermissionDenied):
        message_photos.send_message_with_photos(
            by=patient_user, case=case, body="x", files=[retake()]
        )
    message, photos = message_photos.send_message_with_photos(
        by=patient_user, case=case, body="It did not help."
    )
    assert photos == [] and message.from_clinic is False


def test_the_same_file_again_is_refused_as_a_duplicate(
    make_case: MakeCase, patient_user: User
) -> None:
    case, _ = sent_case_with_a_lesion(make_case)
    _, [first] = message_photos.send_message_with_photos(
        by=patient_user, case=case, body="one", files=[retake(7)]
    )
    _, [again, twice] = message_photos.send_message_with_photos(
        by=patient_user, case=case, body="two", files=[retake(7), retake(7)]
    )
    assert first.is_pending
    assert again.rejection == "duplicate" and twice.rejection == "duplicate"
    assert again.upload is None


def test_limits_per_message_and_per_case(
    make_case: MakeCase, patient_user: User, settings: Any
) -> None:
    case, _ = sent_case_with_a_lesion(make_case)
    before = upload_files_left()
    with pytest.raises(PhotoNotAdded):
        message_photos.send_message_with_photos(
            by=patient_user, case=case, body="x", files=[retake(i) for i in range(5)]
        )
    settings.TELEDERM_PHOTOS_PER_CASE = 3
    with pytest.raises(PhotoNotAdded):
        message_photos.send_message_with_photos(
            by=patient_user, case=case, body="x", files=[retake(1), retake(2)]
        )
    assert not Message.objects.exists()
    assert upload_files_left() == before


def test_message_photos_keep_the_photo_access_rules(
    make_case: MakeCase,
    patient_user: User,
    other_patient_user: User,
    dermatologist: User,
    other_dermatologist: User,
) -> None:
    case, _ = sent_case_with_a_lesion(make_case)
    _, [photo] = message_photos.send_message_with_photos(
        by=patient_user, case=case, body="x", files=[retake()]
    )
    photo = services.process_photo(photo_uuid=photo.uuid)
    case = _move(
        case,
        dermatologist,
        CaseStatus.IN_REVIEW,
        CaseEvent.Action.REVIEW_STARTED,
        assigned_to=dermatologist,
    )
    for person in (patient_user, dermatologist):
        seen, handle = services.open_photo(
            by=person, case_uuid=case.uuid, photo_uuid=photo.uuid, size="thumb"
        )
        handle.close()
        assert seen == photo
    for person in (other_patient_user, other_dermatologist):
        with pytest.raises(Http404):
            services.open_photo(by=person, case_uuid=case.uuid, photo_uuid=photo.uuid, size="thumb")


def test_a_sent_case_still_takes_no_photo_outside_a_message(
    make_case: MakeCase,
) -> None:
    case, lesion = sent_case_with_a_lesion(make_case)
    with pytest.raises(PermissionDenied):
        photo_of(case, lesion, Photo.Kind.DERMOSCOPY, shade=9)


# The page, without JavaScript ---------------------------------------------------------------


def _photo_file(name: str = "retake.jpg", shade: int = 40) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, retake(shade).getvalue(), content_type="image/jpeg")


def test_the_reply_form_posts_a_photo_that_is_checked_at_once(
    client: Client, make_case: MakeCase, patient_user: User, duty_nurse: User
) -> None:
    case, lesion = sent_case_with_a_lesion(make_case)
    case = ask_for_info(case, duty_nurse)
    sign_in(client, patient_user)
    detail = reverse("cases:detail", args=[case.uuid])
    page = client.get(detail).content.decode()
    assert reverse("photos:message_reply", args=[case.uuid]) in page
    assert 'enctype="multipart/form-data"' in page
    response = client.post(
        reverse("photos:message_reply", args=[case.uuid]),
        {
            "body": "The close-up you asked for.",
            "photos": [_photo_file()],
            "kind": "close_up",
            "lesion": str(lesion.uuid),
            "next": detail,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"{detail}#messages"
    photo = Photo.objects.get(message__isnull=False)
    assert photo.is_ready
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED
    # The clinic sees it in the thread, linked to the authorised image route.
    sign_in(client, duty_nurse)
    thread = client.get(reverse("cases:messages", args=[case.uuid])).content.decode()
    assert reverse("photos:image", args=[case.uuid, photo.uuid, "thumb"]) in thread
    assert reverse("photos:image", args=[case.uuid, photo.uuid, "full"]) in thread
    assert 'id="message-photos"' not in thread  # the clinic's form has no photo field


def test_a_refused_form_keeps_the_words_and_says_why(
    client: Client, make_case: MakeCase, patient_user: User
) -> None:
    case, _ = sent_case_with_a_lesion(make_case)
    sign_in(client, patient_user)
    response = client.post(
        reverse("photos:message_reply", args=[case.uuid]),
        {"body": "My words", "photos": [_photo_file()], "kind": "close_up", "lesion": "nope"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose which spot the photos show." in page
    assert "My words" in page
    assert not Message.objects.exists()


def test_others_cannot_post_to_the_reply_form(
    client: Client, make_case: MakeCase, other_patient_user: User, duty_nurse: User
) -> None:
    case, _ = sent_case_with_a_lesion(make_case)
    sign_in(client, other_patient_user)
    url = reverse("photos:message_reply", args=[case.uuid])
    assert client.post(url, {"body": "x"}).status_code == 404
    withdrawn = _move(
        make_case(submit=True), case.created_by, CaseStatus.WITHDRAWN, CaseEvent.Action.WITHDRAWN
    )
    sign_in(client, withdrawn.created_by)
    url = reverse("photos:message_reply", args=[withdrawn.uuid])
    assert client.post(url, {"body": "x"}).status_code == 403
    assert not Message.objects.exists()
