"""Issue 5's journey in Chromium, as the people who use Telederm meet it.

A patient checks a changing mole on the phone (7-point score 4: urgent, cancer patient pathway),
starts a case from the result, places the spot on the body map, adds an overview and a close-up
and sends it; the duty nurse claims it, writes a triage note and passes it to a dermatologist; the
dermatologist reads the photos, the check's reasons and the note, codes the diagnosis from the
code search, saves a draft and signs with Ctrl+Enter; the patient reads the summary in their
language (bokmål, with an English browser), follows a guide and downloads the PDF. Two short
journeys beside it: a red flag sends the patient to 113 at once, and a red flag on an existing
case escalates it to the top of the nurse's queue with the alarm banner.

Every page visited is checked with axe-core, and each keeps a screenshot in
test-artifacts/browser/. Everyone signs in through the real pages (staff with a TOTP code).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import translation
from playwright.sync_api import Browser, Locator, Page, expect
from pypdf import PdfReader

from telederm.accounts.models import User
from telederm.cases.models import Case
from telederm.cases.states import CaseStatus
from telederm.photos.tests import corpus
from telederm.review import guides
from telederm.review.models import Review
from telederm.triage.models import Alarm, SymptomCheck
from tests.browser.conftest import ARTIFACTS, SERVER_LOCK, check_accessibility
from tests.browser.signin import give_totp, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UPLOAD_TIMEOUT = 30_000  # ms: Uppy's upload, then the photo worker's half-second round
MOLE_REASON = "score 3 points or more on the checklist doctors use for moles"
TRIAGE_NOTE = "Grown and darker over months; 4 points on the 7-point list. Please look first."
# What the dermatologist writes, in the patient's language (Kari reads bokmål).
DIAGNOSIS_WORDS = "Uregelmessig føflekk"
ADVICE = "Ta nye bilder av føflekken om tre måneder og send dem hit, så sammenligner vi."
SAFETY_NET = "Ta kontakt før det hvis den blør, klør eller vokser."


def desktop_for(browser: Browser) -> Page:
    """A second desktop browser of its own (cookies and all), for a second clinician."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    return context.new_page()


def answer_no_to_every_question(page: Page) -> None:
    for group in page.get_by_role("group").all():
        group.get_by_label("No", exact=True).check()


def group(page: Page, name: str) -> Locator:
    return page.get_by_role("group", name=name)


def continue_check(page: Page) -> None:
    page.get_by_role("button", name="Continue").click()


def check_a_changing_mole(phone: Page) -> None:
    """The symptom checker's screens for a mole that grew and changed shape (4 points)."""
    expect(phone.get_by_role("heading", name="First, some urgent signs")).to_be_visible()
    expect(phone.get_by_text("Question page 1 of")).to_be_visible()
    check_accessibility(phone, "journey-1-check-red-flags")
    answer_no_to_every_question(phone)
    continue_check(phone)
    expect(phone.get_by_role("heading", name="A few more urgent signs")).to_be_visible()
    answer_no_to_every_question(phone)
    continue_check(phone)

    expect(phone.get_by_role("heading", name="About you and the problem")).to_be_visible()
    phone.get_by_label("How old are you").fill("55")
    group(phone, "What is the problem?").get_by_label("A mole or dark spot").check()
    phone.get_by_label("Where on the body is it?").select_option("back")
    check_accessibility(phone, "journey-1-check-problem")
    continue_check(phone)

    group(phone, "How long have you had it?").get_by_label("1 to 12 months").check()
    group(phone, "How has it changed lately?").get_by_label("Changing colour or shape").check()
    continue_check(phone)

    # The NICE NG12 checklist: change in size and irregular shape are major signs, 2 points each.
    expect(phone.get_by_role("heading", name="A few details")).to_be_visible()
    answer_no_to_every_question(phone)
    group(phone, "Has it grown or changed in size?").get_by_label("Yes").check()
    group(phone, "Is its shape uneven or its edge ragged?").get_by_label("Yes").check()
    check_accessibility(phone, "journey-1-check-mole")
    continue_check(phone)
    answer_no_to_every_question(phone)
    continue_check(phone)

    expect(phone.get_by_role("heading", name="How it affects you")).to_be_visible()
    group(phone, "How much does it affect").get_by_label("A little").check()
    group(phone, "What have you tried for it?").get_by_label("Nothing yet").check()
    phone.get_by_role("button", name="See my advice").click()


def add_photo(phone: Page, kind: str, path: Path, shown_as: str) -> None:
    panel = phone.locator("section.lesion").first
    expect(panel.locator("form[data-photo-uploader-ready]")).to_have_count(1, timeout=30_000)
    panel.get_by_label("Kind of photo").select_option(kind)
    panel.locator("input[type=file]").set_input_files(str(path))
    panel = phone.locator("section.lesion").first
    expect(panel.get_by_role("img", name=shown_as)).to_be_visible(timeout=UPLOAD_TIMEOUT)


def test_symptom_check_to_signed_answer_and_pdf(
    live_server: Any,
    photo_worker: None,
    browser: Browser,
    phone: Page,
    desktop: Page,
    patient_user: User,
    duty_nurse: User,
    dermatologist: User,
    other_dermatologist: User,
    tmp_path: Path,
) -> None:
    base = str(live_server)
    overview = tmp_path / "IMG_0101.jpg"
    overview.write_bytes(corpus.phone_jpeg(1600, 1200, seed=11))
    close_up = tmp_path / "IMG_0102.jpg"
    close_up.write_bytes(corpus.phone_jpeg(1600, 1200, seed=12))

    # 1. The patient, on the phone: the symptom checker, then a case from its result.
    sign_in(phone, base, patient_user)
    phone.goto(base + "/")
    expect(phone.get_by_text("Not sure if you need a doctor?")).to_be_visible()
    phone.get_by_role("link", name="Check your symptoms").click()
    check_a_changing_mole(phone)

    expect(phone.get_by_role("heading", name="Send it to a dermatologist", level=1)).to_be_visible()
    expect(phone.locator("p.lead")).to_contain_text("A dermatologist should look at it urgently")
    reasons = phone.get_by_role("region", name="Why we advise this")
    expect(reasons.get_by_role("listitem").filter(has_text=MOLE_REASON)).to_be_visible()
    expect(reasons.get_by_text("Mole checklist score: 4 points")).to_be_visible()
    check_accessibility(phone, "journey-1-check-result")
    check = SymptomCheck.objects.get()
    assert check.result["priority"] == "urgent" and "pk" in check.result["flags"]

    phone.get_by_role("button", name="Send it to a dermatologist").click()
    expect(phone.get_by_text("suspected melanoma (cancer patient pathway)")).to_be_visible()
    # What the check already knew is filled in.
    expect(phone.get_by_label("Where on the body?")).to_have_value("back")
    phone.get_by_label("What is the problem?").fill(
        "A mole on my back has grown and changed shape since the spring."
    )
    group(phone, "Itching").get_by_label("None").check()
    group(phone, "Pain or soreness").get_by_label("None").check()
    check_accessibility(phone, "journey-1-new-case")
    phone.get_by_role("button", name="Save and add photos").click()

    expect(phone.get_by_role("heading", name="Photos", exact=True)).to_be_visible()
    phone.get_by_role("button", name="Back", exact=True).click()
    phone.locator('[data-site="244111001"][data-side="right"]').click()
    expect(phone.get_by_label("Where on the body")).to_have_value("244111001")
    phone.get_by_role("button", name="Add and take photos").click()
    add_photo(phone, "overview", overview, "Overview (the whole area) photo")
    add_photo(phone, "close_up", close_up, "Close-up photo")
    # The page was loaded before the photos; the spot's panel, refreshed as they arrive, brings
    # the way on with it, and the uploader's "Sent" gives way to the photo itself.
    expect(phone.get_by_role("link", name="Continue to check and send")).to_be_visible()
    expect(phone.get_by_text("When every spot has an overview and a close-up")).to_have_count(0)
    expect(phone.get_by_text("Sent. The photo is being checked.")).to_have_count(0)
    check_accessibility(phone, "journey-1-photos")
    phone.get_by_role("link", name="Continue to check and send").click()
    check_accessibility(phone, "journey-1-check-and-send")
    phone.get_by_role("button", name="Send to the dermatologist").click()
    expect(phone.get_by_text("Your case has been sent to the skin clinic.")).to_be_visible()
    case = Case.objects.get()
    assert case.status == CaseStatus.SUBMITTED
    assert case.priority == Case.Priority.URGENT and case.pathway == Case.Pathway.PK_MELANOMA
    assert case.symptom_checks.get() == check
    assert sorted(case.photos.ready().values_list("kind", flat=True)) == ["close_up", "overview"]

    # 2. The duty nurse, at a desk: the triage queue, claim, a note, to a named dermatologist.
    nurse = desktop
    sign_in(nurse, base, duty_nurse, totp_secret=give_totp(duty_nurse))
    expect(nurse.get_by_role("heading", name="Triage queue")).to_be_visible()
    assert nurse.url.endswith("/clinic/triage/"), "the nurse lands on the triage queue"
    row = nurse.get_by_role("row").filter(has_text="Kari Nordmann")
    expect(row).to_have_count(1)
    expect(row.locator(".badge-pk")).to_contain_text("PK")
    expect(row).to_contain_text(re.compile(r"\d+ h( \d+ min)? left"))
    expect(row.locator(".badge-urgent")).to_have_text("Urgent")
    check_accessibility(nurse, "journey-2-triage-queue")
    row.get_by_role("link", name="Kari Nordmann").click()
    nurse.get_by_role("button", name="Claim this case").click()
    expect(nurse.get_by_text("You have claimed the case.")).to_be_visible()
    expect(nurse.get_by_role("img", name=re.compile("^Close-up photo"))).to_be_visible()
    nurse.get_by_label("Note for the dermatologist").fill(TRIAGE_NOTE)
    nurse.get_by_role("button", name="Save note").click()
    expect(nurse.get_by_text("Note saved for the dermatologist.")).to_be_visible()
    check_accessibility(nurse, "journey-2-triage-case")
    forward = nurse.get_by_role("region", name="Forward to a dermatologist")
    forward.get_by_label("Dermatologist").select_option(label=dermatologist.full_name)
    forward.get_by_role("button", name="Forward", exact=True).click()
    expect(
        nurse.get_by_text(f"The case has been passed to {dermatologist.full_name}.")
    ).to_be_visible()
    case.refresh_from_db()
    assert case.status == CaseStatus.TRIAGED and case.assigned_to == dermatologist

    # 3. The dermatologist: the queue, the workspace, a coded answer, a draft, Ctrl+Enter.
    derm = desktop_for(browser)
    sign_in(derm, base, dermatologist, totp_secret=give_totp(dermatologist))
    expect(derm.get_by_role("heading", name="Review queue")).to_be_visible()
    row = derm.get_by_role("row").filter(has_text="Kari Nordmann")
    expect(row.get_by_text("yours")).to_be_visible()
    expect(row.get_by_text("PK", exact=True)).to_be_visible()
    check_accessibility(derm, "journey-3-review-queue")
    row.get_by_role("link", name="Kari Nordmann").click()
    derm.get_by_role("button", name="Start review").click()
    expect(derm.get_by_role("button", name="Sign and send")).to_be_visible()
    photos = derm.get_by_role("region", name="Photos")
    expect(photos.get_by_role("img")).to_have_count(2)
    loaded = photos.get_by_role("img").evaluate_all(
        "els => els.filter(e => e.complete && e.naturalWidth > 0).length"
    )
    assert loaded == 2, "both photos load for the dermatologist"
    expect(derm.get_by_text(MOLE_REASON)).to_be_visible()
    expect(derm.get_by_text("7-point checklist: 4 points")).to_be_visible()
    expect(derm.get_by_text(TRIAGE_NOTE)).to_be_visible()

    derm.get_by_label("Assessment").fill(
        "Asymmetric pigmented lesion, 8 mm, two shades of brown; irregular border on the close-up."
    )
    derm.get_by_label("What it probably is").fill(DIAGNOSIS_WORDS)
    # d searches the code list; a result picked fills the ICD-10 field.
    derm.locator("h1").click()
    derm.keyboard.press("d")
    derm.keyboard.type("D22.5")
    pick = derm.locator("#code-search-results .code-choice").filter(has_text="D22.5").first
    expect(pick).to_be_visible()
    pick.click()
    expect(derm.get_by_label("ICD-10 codes")).to_have_value("D22.5")
    derm.get_by_label("Advice to the patient").fill(ADVICE)
    derm.get_by_label("When to seek help again").fill(SAFETY_NET)
    derm.get_by_label("Mole self-check").check()
    check_accessibility(derm, "journey-3-workspace")
    derm.get_by_role("button", name="Save draft").click()
    expect(derm.get_by_text("Draft saved. Only you can see it.")).to_be_visible()
    draft = Review.objects.get()
    assert not draft.is_signed and draft.guides == ["mole-self-check"]
    assert draft.diagnoses.get().code == "D22.5"
    # The draft is kept in the form; Ctrl+Enter signs from inside a field.
    expect(derm.get_by_label("Advice to the patient")).to_have_value(ADVICE)
    derm.get_by_label("When to seek help again").focus()
    derm.keyboard.press("Control+Enter")
    expect(derm.get_by_text("The answer has been signed and sent.")).to_be_visible()
    case.refresh_from_db()
    assert case.status == CaseStatus.ANSWERED and case.review.is_signed
    derm.context.close()

    # The patient is told there is news, and nothing more.
    with SERVER_LOCK:
        call_command("worker", batch=True, interval=0.01)
    to_patient = [m for m in mail.outbox if patient_user.email in m.to]
    assert to_patient, "the patient is e-mailed that the answer is ready"
    for message in to_patient:
        assert "føflekk" not in message.body.lower() and "D22" not in message.body

    # 4. The patient reads the summary in bokmål, follows the guide and downloads the PDF.
    phone.goto(base + "/")
    expect(phone.get_by_role("heading", name="My cases", level=1)).to_be_visible()
    card = phone.locator("li.card").filter(has_text="grown and changed shape")
    expect(card.get_by_text("Answered", exact=True)).to_be_visible()
    check_accessibility(phone, "journey-4-my-cases")
    card.get_by_role("link").click()
    expect(phone.get_by_role("heading", name="Your case: Back", level=1)).to_be_visible()
    expect(phone.get_by_role("heading", name="The dermatologist's answer")).to_be_visible()
    expect(phone.get_by_text(ADVICE)).to_be_visible()
    check_accessibility(phone, "journey-4-case")
    phone.get_by_role("link", name="Read the answer summary").click()
    expect(phone.get_by_role("heading", name="Answer summary")).to_be_visible()
    with translation.override("nb"):
        what_heading = translation.gettext("What it probably is")
        help_heading = translation.gettext("When to seek help again")
    mole_guide_nb = guides.get("mole-self-check", "nb")
    summary = phone.locator('article div[lang="nb"]')
    expect(summary.get_by_role("heading", name=what_heading)).to_be_visible()
    expect(summary.get_by_text(DIAGNOSIS_WORDS)).to_be_visible()
    expect(summary.get_by_text(ADVICE)).to_be_visible()
    expect(summary.get_by_role("heading", name=help_heading)).to_be_visible()
    expect(summary.get_by_text(SAFETY_NET)).to_be_visible()
    check_accessibility(phone, "journey-4-summary")

    summary.get_by_role("link", name=mole_guide_nb.title).click()
    # In the summary's language (bokmål), not the English browser's; the usual links around it.
    expect(phone.get_by_role("heading", level=1)).to_have_text(mole_guide_nb.title)
    expect(phone.locator("article.guide")).to_have_attribute("lang", "nb")
    nav = phone.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="My cases")).to_be_visible()
    expect(nav.get_by_role("link", name="New case")).to_be_visible()
    check_accessibility(phone, "journey-4-guide")
    phone.go_back()

    with phone.expect_download() as download_info:
        phone.get_by_role("link", name="Download as PDF").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    download.save_as(ARTIFACTS / "journey-4-answer-summary.pdf")
    pdf = PdfReader(io.BytesIO(Path(download.path()).read_bytes()))
    text = " ".join((page.extract_text() or "") for page in pdf.pages)
    flat = re.sub(r"\s+", " ", text)
    assert DIAGNOSIS_WORDS in flat, flat[:500]
    assert ADVICE in flat, flat[:500]
    assert SAFETY_NET in flat, flat[:500]


def test_a_red_flag_sends_the_patient_to_113_first(live_server: Any, phone: Page) -> None:
    """Signed out, nothing stored: the emergency page's first action is to call 113."""
    base = str(live_server)
    phone.goto(base + "/check/")
    group(phone, "Is your face, lips, tongue or throat swelling").get_by_label("Yes").check()
    for name in ("Is there a rash that is spreading", "Is the skin blistering", "press a glass"):
        group(phone, name).get_by_label("No").check()
    continue_check(phone)
    expect(phone.get_by_role("heading", name="Call 113 now", level=1)).to_be_visible()
    first_action = phone.get_by_role("main").get_by_role("link").first
    expect(first_action).to_have_attribute("href", "tel:113")
    expect(first_action).to_have_text("Call 113")
    expect(phone.get_by_text("anaphylaxis")).to_be_visible()
    check_accessibility(phone, "journey-emergency-113")
    assert not SymptomCheck.objects.exists(), "a signed-out check stores nothing"


def test_a_red_flag_on_a_sent_case_escalates_it_to_the_top_of_the_nurse_queue(
    live_server: Any,
    browser: Browser,
    phone: Page,
    desktop: Page,
    make_case: Callable[..., Case],
    patient_user: User,
    other_patient_user: User,
    duty_nurse: User,
) -> None:
    base = str(live_server)
    earlier = make_case(by=other_patient_user, patient=other_patient_user.patient, submit=True)
    case = make_case(submit=True, complaint="Eczema on both hands.", body_site="hand")

    sign_in(phone, base, patient_user)
    phone.goto(f"{base}/cases/{case.uuid}/")
    phone.get_by_role("link", name="Has it got worse? Check your symptoms again").click()
    expect(phone.get_by_text("Has it got worse?")).to_be_visible()
    group(phone, "Is the skin blistering or peeling").get_by_label("Yes").check()
    for name in ("Is there a rash that is spreading", "Is your face", "press a glass"):
        group(phone, name).get_by_label("No").check()
    continue_check(phone)
    expect(phone.get_by_role("heading", name="Call 113 now")).to_be_visible()
    expect(phone.get_by_role("status")).to_contain_text("the duty nurse has been alerted")
    check_accessibility(phone, "journey-escalated-patient")
    case.refresh_from_db()
    assert case.status == CaseStatus.ESCALATED
    assert Alarm.objects.filter(case=case, kind="emergency").exists()

    sign_in(desktop, base, duty_nurse, totp_secret=give_totp(duty_nurse))
    expect(desktop.get_by_role("heading", name="Triage queue")).to_be_visible()
    banner = desktop.get_by_role("region", name=re.compile("open alarm"))
    expect(banner).to_be_visible()
    expect(banner.get_by_role("link", name=f"Open case {str(case.uuid)[:8]}")).to_be_visible()
    first_row = desktop.locator("main tbody tr").first
    expect(first_row).to_contain_text("Emergency")
    expect(first_row).to_contain_text(patient_user.full_name)
    expect(
        desktop.locator("main tbody tr").filter(has_text=earlier.patient.full_name)
    ).to_be_visible()
    check_accessibility(desktop, "journey-escalated-nurse-queue")
