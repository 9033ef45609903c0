"""A patient sends a case from a phone, a dermatologist answers, the patient reads the answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from conftest import jpeg_bytes
from telederm.accounts.models import User
from telederm.cases.models import Case
from tests.browser.conftest import check_accessibility
from tests.browser.signin import give_totp, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_patient_sends_a_case_and_reads_the_dermatologists_answer(
    live_server: object,
    phone: Page,
    desktop: Page,
    patient_user: User,
    dermatologist: User,
    tmp_path: Path,
) -> None:
    base = str(live_server)
    photo = tmp_path / "mole.jpg"
    photo.write_bytes(jpeg_bytes(size=(1200, 900)))

    # The patient, on a phone.
    sign_in(phone, base, patient_user)
    expect(phone.get_by_role("heading", name="My cases")).to_be_visible()
    check_accessibility(phone, "patient-cases")
    phone.get_by_role("link", name="Start a new case").click()
    check_accessibility(phone, "patient-questionnaire")
    phone.get_by_label("What is the problem?").fill("A mole on my back has grown and darkened.")
    phone.get_by_label("Where on the body?").select_option("back")
    phone.get_by_label("1 to 12 months").check()
    phone.get_by_label("Changing colour or shape").check()
    phone.get_by_role("group", name="Itching").get_by_label("None").check()
    phone.get_by_role("group", name="Pain or soreness").get_by_label("Mild").check()
    phone.get_by_role("button", name="Save and add photos").click()

    expect(phone.get_by_role("heading", name="Add photos")).to_be_visible()
    check_accessibility(phone, "patient-photos")
    phone.locator("input[type=file][name=photo]").set_input_files(str(photo))
    phone.get_by_role("button", name="Upload photo").click()
    expect(phone.get_by_text("The photo was added.")).to_be_visible()
    phone.get_by_role("link", name="Continue to check and send").click()

    expect(phone.get_by_role("heading", name="Check and send")).to_be_visible()
    check_accessibility(phone, "patient-summary")
    phone.get_by_role("button", name="Send to the dermatologist").click()
    expect(phone.get_by_text("Your case has been sent to the skin clinic.")).to_be_visible()
    check_accessibility(phone, "patient-case-sent")
    case = Case.objects.get()
    assert case.status == "submitted"

    # The dermatologist, at a desk.
    sign_in(desktop, base, dermatologist, totp_secret=give_totp(dermatologist))
    expect(desktop.get_by_role("heading", name="Review queue")).to_be_visible()
    check_accessibility(desktop, "clinic-queue")
    desktop.get_by_role("link", name="Kari Nordmann").click()
    expect(desktop.get_by_text("A mole on my back has grown and darkened.")).to_be_visible()
    image = desktop.get_by_role("img", name="Photo 1: Overview (the whole area)")
    expect(image).to_be_visible()
    image.scroll_into_view_if_needed()
    loaded_width = image.evaluate(
        "img => img.complete ? img.naturalWidth : new Promise(done =>"
        " img.addEventListener('load', () => done(img.naturalWidth), {once: true}))"
    )
    assert loaded_width > 0, "the photo loads for the clinician"
    desktop.get_by_role("button", name="Start review").click()
    check_accessibility(desktop, "clinic-case")
    desktop.get_by_label("Assessment").fill(
        "Benign seborrhoeic keratosis; no features of melanoma."
    )
    desktop.get_by_label("Diagnosis").fill("Seborrhoeic keratosis")
    desktop.get_by_label("Advice to the patient").fill("This is a harmless age spot. No treatment.")
    desktop.get_by_role("button", name="Sign and send the answer").click()
    expect(desktop.get_by_text("The answer has been sent.")).to_be_visible()

    # The patient reads the answer and the case's history.
    phone.reload()
    expect(phone.get_by_role("heading", name="The dermatologist's answer")).to_be_visible()
    expect(phone.get_by_text("This is a harmless age spot. No treatment.")).to_be_visible()
    expect(phone.get_by_text("Benign seborrhoeic keratosis")).to_have_count(0)
    history = phone.get_by_role("region", name="History")
    for step in (
        "Case started",
        "Photo added",
        "Sent to the clinic",
        "A dermatologist started the review",
        "Answered by a dermatologist",
    ):
        expect(history.get_by_text(step)).to_be_visible()
    check_accessibility(phone, "patient-answer")
