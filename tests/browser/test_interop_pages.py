"""Issue 6's pages in Chromium, as an operator and a dermatologist use them: the operator's message
page (found from the home page, what needs attention first, a rejection in words, resend and
cancel by keyboard), the answer to the GP queued then sent from the workspace, closing with a
discharge summary, and a referral receiver picked from the address register. axe on every page,
phone and desktop screenshots in test-artifacts/browser/."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from playwright.sync_api import Browser, Page, expect

from conftest import PASSWORD
from telederm.accounts.models import Organisation, User
from telederm.cases.models import Case
from telederm.cases.states import CaseStatus
from telederm.interop import addresses, outbox
from telederm.interop.models import OutgoingMessage
from telederm.interop.tests.test_compose import DEPARTMENT, EXAMPLE
from telederm.interop.tests.test_outbox_support import message_xml
from telederm.review.models import Referral
from telederm.review.services import take_for_review
from tests.browser.conftest import check_accessibility
from tests.browser.signin import give_totp, sign_in
from tests.browser.test_csp import LISTEN
from tests.browser.test_workspace import signed_in_staff, violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
Status = OutgoingMessage.Status
Kind = OutgoingMessage.Kind


@pytest.fixture
def transport(settings: Any, tmp_path: Path) -> Path:
    """The file-drop transport into this test's own folders."""
    settings.TELEDERM_MESSAGE_TRANSPORT = "file"
    settings.TELEDERM_MESSAGE_FILE_OUT = tmp_path / "out"
    settings.TELEDERM_MESSAGE_FILE_IN = tmp_path / "in"
    return tmp_path / "out"


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_user(
        "drift@telederm.example", PASSWORD, full_name="Ola Drift", role=User.Role.OPERATOR
    )


def queued(
    case: Case | None, status: str, kind: str = Kind.DIALOGMELDING, **fields: Any
) -> OutgoingMessage:
    msg_id = uuid.uuid4()
    with transaction.atomic():
        message = outbox.queue_message(
            by=None,
            kind=kind,
            msg_id=msg_id,
            msg_type="DIALOG_NOTAT",
            receiver_her_id=56704,
            receiver_name="Kattskinnet legesenter",
            payload=message_xml(msg_id),
            case=case,
        )
    OutgoingMessage.objects.filter(pk=message.pk).update(status=status, **fields)
    message.refresh_from_db()
    return message


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] if page.viewport_size else True, width


def test_the_operator_finds_resends_and_cancels_messages(
    live_server: Any,
    desktop: Page,
    phone: Page,
    operator: User,
    make_case: Callable[..., Case],
    transport: Path,
) -> None:
    base = str(live_server)
    case = make_case(photos=0)
    queued(case, Status.ACKNOWLEDGED)
    queued(case, Status.QUEUED)
    failed = queued(case, Status.FAILED, last_error="Connection refused by the message service")
    rejected = queued(
        case,
        Status.REJECTED,
        apprec_errors=[{"code": "E21", "text": "Mottaker finnes ikke", "details": "HER-id 56704"}],
    )
    doubt = queued(case, Status.IN_DOUBT, last_error="The connection broke after sending")

    # Signs in with two factors and finds the message page from the home page.
    desktop.context.add_init_script(LISTEN)
    sign_in(desktop, base, operator, totp_secret=give_totp(operator))
    expect(desktop.get_by_role("heading", name="Signed in")).to_be_visible()
    check_accessibility(desktop, "operator-home-desktop")
    desktop.get_by_role("main").get_by_role("link", name="Messages to other health actors").click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Messages to other health actors")

    # Those that need a person come first; no patient name anywhere on the list.
    rows = desktop.locator("table tbody tr")
    expect(rows).to_have_count(5)
    first_three = [rows.nth(i).locator(".badge").inner_text() for i in range(3)]
    assert first_three == [
        "Could not be delivered",
        "Rejected by the receiver",
        "In doubt: sending was interrupted",
    ], first_three
    assert case.patient.full_name not in desktop.content()
    expect(desktop.get_by_text("Mottaker finnes ikke")).to_be_visible()
    check_accessibility(desktop, "operator-messages-desktop")

    # The rejected message: the receiver's error in words, the XML escaped in a scrolling box.
    desktop.locator(f'a[href$="/operator/messages/{rejected.uuid}/"]').click()
    expect(desktop.get_by_text("Mottaker finnes ikke")).to_be_visible()
    xml_box = desktop.get_by_role("region", name="The message’s XML")
    expect(xml_box).to_be_visible()
    expect(xml_box).to_contain_text("<MsgHead")
    check_accessibility(desktop, "operator-message-rejected-desktop")

    # Resends the failed one with the keyboard only.
    desktop.goto(f"{base}/operator/messages/{failed.uuid}/")
    desktop.get_by_role("button", name="Send again").focus()
    desktop.keyboard.press("Enter")
    expect(desktop.get_by_text("The message is queued to be sent again.")).to_be_visible()
    failed.refresh_from_db()
    assert failed.status == Status.QUEUED

    # Cancels the one in doubt: Tab from "Send again" to "Cancel the message", then Enter.
    desktop.goto(f"{base}/operator/messages/{doubt.uuid}/")
    desktop.get_by_role("button", name="Send again").focus()
    desktop.keyboard.press("Tab")
    assert desktop.evaluate("document.activeElement.textContent.trim()") == "Cancel the message"
    desktop.keyboard.press("Enter")
    expect(desktop.get_by_text("The message is cancelled: it will not be sent.")).to_be_visible()
    doubt.refresh_from_db()
    assert doubt.status == Status.CANCELLED
    check_accessibility(desktop, "operator-message-cancelled-desktop")
    assert violations(desktop) == []

    # The same pages on a phone: nothing wider than the screen; the XML scrolls in its box.
    signed_in_staff(phone.context, base, operator)
    phone.goto(f"{base}/")
    no_sideways_scroll(phone)
    check_accessibility(phone, "operator-home-phone")
    phone.goto(f"{base}/operator/messages/")
    no_sideways_scroll(phone)
    check_accessibility(phone, "operator-messages-phone")
    phone.goto(f"{base}/operator/messages/{rejected.uuid}/")
    no_sideways_scroll(phone)
    check_accessibility(phone, "operator-message-rejected-phone")

    # Nothing needs attention any more once the rest is dealt with: an empty state in words.
    OutgoingMessage.objects.filter(status__in=outbox.NEEDS_ATTENTION).update(
        status=Status.CANCELLED
    )
    phone.goto(f"{base}/operator/messages/?status=failed")
    expect(phone.get_by_text("No messages need attention")).to_be_visible()


def test_the_dermatologist_sees_the_gp_messages_closes_and_refers(
    live_server: Any,
    browser: Browser,
    desktop: Page,
    phone: Page,
    dermatologist: User,
    patient_user: User,
    gp_office: Organisation,
    make_case: Callable[..., Case],
    transport: Path,
) -> None:
    base = str(live_server)
    addresses.import_file(EXAMPLE)
    patient = patient_user.patient
    patient.gp_office = gp_office
    patient.save()
    dermatologist.hpr_number = "9100065"
    dermatologist.save(update_fields=["hpr_number"])
    case = make_case(submit=True, photos=1)
    take_for_review(by=dermatologist, case=case, expected_version=case.version)
    desktop.context.add_init_script(LISTEN)
    signed_in_staff(desktop.context, base, dermatologist)

    # Signs advice; the workspace says a Dialogmelding to the GP is waiting to be sent.
    desktop.goto(f"{base}/clinic/cases/{case.uuid}/")
    desktop.get_by_label("Assessment").fill("Skarpt avgrenset plakk med sølvhvitt skjell.")
    desktop.get_by_label("What it probably is").fill("Psoriasis")
    desktop.get_by_label("ICD-10 codes").fill("L40.0")
    desktop.get_by_label("Advice to the patient").fill("Use the cream every evening.")
    desktop.get_by_role("button", name="Sign and send").click()
    expect(desktop.get_by_text("The answer has been signed and sent.")).to_be_visible()
    desktop.goto(f"{base}/clinic/cases/{case.uuid}/")
    section = desktop.locator("#messages-to-others")
    expect(section).to_contain_text("Dialogue message")
    expect(section).to_contain_text("Waiting to be sent")
    check_accessibility(desktop, "interop-workspace-queued-desktop")

    call_command("worker", batch=True, interval=0.01)
    message = OutgoingMessage.objects.get(case=case, kind=Kind.DIALOGMELDING)
    assert message.status == Status.SENT, message.last_error
    desktop.reload()
    expect(section).to_contain_text("Sent")
    check_accessibility(desktop, "interop-workspace-sent-desktop")

    # The patient reads the answer as a message in the thread, with the whole answer a link away.
    patient_page = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="en-GB", is_mobile=True, has_touch=True
    ).new_page()
    signed_in_staff(patient_page.context, base, patient_user)
    patient_page.goto(f"{base}/cases/{case.uuid}/")
    thread = patient_page.locator("#messages")
    expect(thread.get_by_text("The dermatologist has answered your case.")).to_be_visible()
    thread.get_by_role("link", name="Read the whole answer").click()
    expect(patient_page.get_by_text("Use the cream every evening.").first).to_be_visible()
    patient_page.go_back()
    no_sideways_scroll(patient_page)
    check_accessibility(patient_page, "interop-patient-thread-phone")
    patient_page.context.close()

    signed_in_staff(phone.context, base, dermatologist)
    phone.goto(f"{base}/clinic/interop/cases/{case.uuid}/discharge/")
    no_sideways_scroll(phone)
    check_accessibility(phone, "interop-discharge-phone")

    # Closes with a discharge summary: the Epikrise is queued.
    section.get_by_role("link", name="Close with a discharge summary to the GP").click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text(
        "Close with a discharge summary to the GP"
    )
    check_accessibility(desktop, "interop-discharge-desktop")
    desktop.get_by_label("Summary").first.fill("Psoriasis, behandlet med mometason krem.")
    desktop.get_by_role("button", name="Close the case and send the summary").click()
    assert OutgoingMessage.objects.filter(case=case, kind=Kind.EPIKRISE).exists()
    expect(desktop.locator("#messages-to-others")).to_contain_text("Discharge summary")
    assert Case.objects.get(pk=case.pk).status == CaseStatus.CLOSED
    assert violations(desktop) == []

    # The register on a phone.
    other = make_case(submit=True, photos=1)
    take_for_review(by=dermatologist, case=other, expected_version=other.version)
    phone.goto(f"{base}/clinic/interop/addresses/")
    no_sideways_scroll(phone)
    check_accessibility(phone, "interop-addresses-phone")
    desktop.goto(f"{base}/clinic/interop/addresses/")
    check_accessibility(desktop, "interop-addresses-desktop")

    # Another case: the receiver is picked from the register's datalist; its HER-id reaches the
    # referral when signed.
    desktop.goto(f"{base}/clinic/cases/{other.uuid}/")
    options = desktop.locator("#referral-receivers option")
    expect(options.first).to_be_attached()
    labels = options.evaluate_all("os => os.map(o => o.value)")
    pick = next(label for label in labels if str(DEPARTMENT) in label)
    desktop.get_by_label("Assessment").fill("Asymmetrisk pigmentert lesjon.")
    desktop.get_by_label("What it probably is").fill("Mistanke om melanom")
    desktop.get_by_label("ICD-10 codes").fill("D48.5")
    desktop.get_by_label("Advice to the patient").fill("You will be called in to the hospital.")
    desktop.get_by_label("Refer for an in-person appointment").check()
    desktop.get_by_label("Priority").select_option(index=1)
    receiver = desktop.get_by_label("Refer to")
    expect(receiver).to_have_attribute("list", "referral-receivers")
    receiver.fill(pick)
    desktop.get_by_label("Reason for referral").fill("Ønsker eksisjon.")
    check_accessibility(desktop, "interop-referral-datalist-desktop")
    desktop.get_by_role("button", name="Sign and send").click()
    expect(desktop.get_by_text("The answer has been signed and sent.")).to_be_visible()
    referral = Referral.objects.get(review__case=other)
    assert referral.receiver_her_id == DEPARTMENT
    desktop.goto(f"{base}/clinic/cases/{other.uuid}/")
    expect(desktop.locator("#messages-to-others")).to_contain_text("Referral")
    phone.goto(f"{base}/clinic/cases/{other.uuid}/")
    no_sideways_scroll(phone)
    check_accessibility(phone, "interop-workspace-referred-phone")
