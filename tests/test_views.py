"""Thin view tests: the pages parse input, call one service, and show clear messages."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from conftest import ANSWERS, answer, jpeg_bytes, sign_in, synthetic_number
from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case
from telederm.patients.models import Patient
from telederm.photos import services as photo_services
from telederm.photos.tests.test_services import a_site

pytestmark = pytest.mark.django_db


signed_in = sign_in
SITE, SIDE = a_site()


def test_health_endpoints_answer_json(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready == {"status": "ok", "checks": {"database": "ok", "storage": "ok"}}


def test_readyz_reports_a_broken_storage(
    client: Client, settings: object, tmp_path: object
) -> None:
    from unittest import mock

    from django.core.files.storage import default_storage

    with mock.patch.object(default_storage, "save", side_effect=OSError("disk full")):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "error: OSError"


def test_a_gp_refers_a_new_patient_by_fodselsnummer(client: Client, gp: User) -> None:
    number = synthetic_number(1948, 9, 30)
    response = signed_in(client, gp).post(
        reverse("cases:new"),
        {
            **ANSWERS,
            "patient_identifier": f"{number[:6]} {number[6:]}",
            "patient_name": "Arne Nilsen",
            "patient_consents": "on",
        },
    )
    case = Case.objects.get()
    assert response["Location"] == reverse("photos:manage", args=[case.uuid])
    assert case.patient.identifier == number
    assert case.patient.gp_office == gp.organisation
    assert case.is_on_behalf


def test_a_wrong_fodselsnummer_is_explained_and_nothing_is_saved(client: Client, gp: User) -> None:
    number = synthetic_number(1948, 9, 30)
    typo = number[:-1] + str((int(number[-1]) + 1) % 10)
    response = signed_in(client, gp).post(
        reverse("cases:new"),
        {
            **ANSWERS,
            "patient_identifier": typo,
            "patient_name": "Arne Nilsen",
            "patient_consents": "on",
        },
    )
    assert response.status_code == 200
    assert "The check digits do not match" in response.content.decode()
    assert not Case.objects.exists()
    assert not Patient.objects.filter(identifier=typo).exists()


def test_the_norwegian_page_explains_a_wrong_number_in_norwegian(client: Client, gp: User) -> None:
    client.cookies["django_language"] = "nb"
    response = signed_in(client, gp).post(
        reverse("cases:new"), {**ANSWERS, "patient_identifier": "123", "patient_name": "X"}
    )
    assert "Et fødselsnummer har 11 sifre" in response.content.decode()


def test_an_empty_case_is_refused_with_the_fields_named(client: Client, patient_user: User) -> None:
    response = signed_in(client, patient_user).post(reverse("cases:new"), {})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Please correct the following" in body
    assert "What is the problem?" in body
    assert not Case.objects.exists()


def test_a_file_that_is_not_an_image_is_refused_and_a_retake_offered(
    client: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case(photos=0)
    lesion = photo_services.add_lesion(
        by=case.created_by, case=case, body_site=SITE, laterality=SIDE
    )
    upload = io.BytesIO(b"%PDF-1.4 not a photo")
    upload.name = "photo.jpg"
    prefix = lesion.uuid.hex
    response = signed_in(client, case.created_by).post(
        reverse("photos:upload", args=[case.uuid, lesion.uuid]),
        {"photo": upload, "kind": "close_up"},
        follow=True,
    )
    photo = case.photos.get()
    assert photo.is_rejected
    body = response.content.decode()
    assert escape(photo.rejection_text) in body
    assert f"?retake=close_up&amp;lesion={prefix}#upload-{prefix}" in body
    retake = client.get(
        reverse("photos:manage", args=[case.uuid]) + f"?retake=close_up&lesion={prefix}"
    )
    assert 'value="close_up" selected' in retake.content.decode()


def test_a_blurred_photo_is_kept_with_advice_to_take_it_again(
    client: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case(photos=0)
    lesion = photo_services.add_lesion(
        by=case.created_by, case=case, body_site=SITE, laterality=SIDE
    )
    upload = io.BytesIO(jpeg_bytes(size=(1600, 1200)))  # one flat colour: nothing in focus
    upload.name = "IMG_0042.jpg"
    response = signed_in(client, case.created_by).post(
        reverse("photos:upload", args=[case.uuid, lesion.uuid]),
        {"photo": upload, "kind": "overview"},
        follow=True,
    )
    photo = case.photos.get()
    assert photo.is_ready and "blurry" in photo.quality_flags
    body = response.content.decode()
    assert escape(photo.advice[0]) in body
    assert "Take it again" in body


def test_the_lesion_panel_is_refreshed_while_a_photo_is_checked(
    client: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case(photos=0)
    lesion = photo_services.add_lesion(
        by=case.created_by, case=case, body_site=SITE, laterality=SIDE
    )
    photo = photo_services.add_photo(
        by=case.created_by, case=case, upload=io.BytesIO(jpeg_bytes()), lesion=lesion
    )
    url = reverse("photos:lesion_status", args=[case.uuid, lesion.uuid])
    waiting = signed_in(client, case.created_by).get(url).content.decode()
    assert "Checking the photo" in waiting and 'hx-trigger="every 2s"' in waiting
    photo_services.process_photo(photo_uuid=photo.uuid)
    done = client.get(url).content.decode()
    assert "every 2s" not in done
    assert reverse("photos:image", args=[case.uuid, photo.uuid, "thumb"]) in done


def test_a_second_submit_says_it_was_already_sent(
    client: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case()
    signed_in(client, case.created_by)
    url = reverse("cases:submit", args=[case.uuid])
    first = client.post(url, {"version": case.version}, follow=True)
    assert "Your case has been sent" in first.content.decode()
    second = client.post(url, {"version": case.version}, follow=True)
    assert "already been sent" in second.content.decode()
    assert second.redirect_chain[-1][0] == reverse("cases:detail", args=[case.uuid])


def test_another_patient_gets_404_for_a_case_and_its_photos(
    client: Client, make_case: Callable[..., Case], other_patient_user: User
) -> None:
    case = make_case(submit=True)
    photo = case.photos.get()
    signed_in(client, other_patient_user)
    assert client.get(reverse("cases:detail", args=[case.uuid])).status_code == 404
    url = reverse("photos:image", args=[case.uuid, photo.uuid, "full"])
    assert client.get(url).status_code == 404
    assert not AccessEvent.objects.filter(actor=other_patient_user).exists()


def test_a_photo_is_served_privately_to_its_patient(
    client: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case(submit=True)
    photo = case.photos.get()
    response = signed_in(client, case.created_by).get(
        reverse("photos:image", args=[case.uuid, photo.uuid, "thumb"])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"


def test_the_clinic_is_closed_to_patients_and_gps(
    client: Client, patient_user: User, gp: User
) -> None:
    for person in (patient_user, gp):
        client.logout()
        assert signed_in(client, person).get(reverse("review:queue")).status_code == 403


def test_the_queue_lists_sent_cases_soonest_due_first_and_logs_each_read(
    client: Client, make_case: Callable[..., Case], dermatologist: User
) -> None:
    later = make_case(submit=True, complaint="Second case")
    earlier = make_case(submit=True, complaint="First case", photos=1)
    Case.objects.filter(pk=earlier.pk).update(
        due_at=later.due_at.replace(year=later.due_at.year - 1)
    )
    body = signed_in(client, dermatologist).get(reverse("review:queue")).content.decode()
    assert body.index("First case") < body.index("Second case")
    assert AccessEvent.objects.filter(action="queue.list.view", actor=dermatologist).count() == 2


def test_a_patient_reads_the_answer_but_not_the_clinical_assessment(
    client: Client, make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)
    answer(case, dermatologist, take=True)
    body = (
        signed_in(client, case.created_by)
        .get(reverse("cases:detail", args=[case.uuid]))
        .content.decode()
    )
    assert "Keep an eye on it." in body
    assert "Naevus" in body
    assert "Clinical note for the GP" not in body
    assert "Answered by a dermatologist" in body


def test_the_referring_gp_reads_assessment_and_advice(
    client: Client,
    make_case: Callable[..., Case],
    gp: User,
    patient_user: User,
    dermatologist: User,
) -> None:
    case = make_case(by=gp, patient=patient_user.patient, submit=True)
    answer(case, dermatologist, take=True)
    body = signed_in(client, gp).get(reverse("cases:detail", args=[case.uuid])).content.decode()
    assert "Clinical note for the GP" in body
    assert "Keep an eye on it." in body
    client.logout()
    patient_view = signed_in(client, patient_user).get(reverse("cases:detail", args=[case.uuid]))
    assert "Keep an eye on it." in patient_view.content.decode()
    assert "Clinical note for the GP" not in patient_view.content.decode()
