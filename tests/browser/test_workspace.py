"""The dermatologist's review workspace in Chromium: the keyboard path from taking a case to
signing it, under the production Content-Security-Policy, with axe on the page."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import BrowserContext, Page, expect

from conftest import jpeg_bytes, sign_in
from telederm.accounts.models import User
from telederm.cases.models import Case
from telederm.cases.services import submit_case
from telederm.cases.states import CaseStatus
from telederm.photos.services import add_photo
from telederm.review.models import Review
from tests.browser.conftest import ARTIFACTS, check_accessibility
from tests.browser.test_csp import LISTEN

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_in_staff(context: BrowserContext, base: str, user: User) -> None:
    """A session with a second factor, as after signing in with a TOTP code."""
    client = sign_in(Client(), user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base}])


def violations(page: Page) -> list[str]:
    return list(page.evaluate("window.__cspViolations || []"))


def focused_id(page: Page) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def test_a_dermatologist_takes_codes_saves_and_signs_with_the_keyboard(
    live_server: Any, desktop: Page, make_case: Callable[..., Case], dermatologist: User
) -> None:
    base = str(live_server)
    case = make_case(photos=1)
    add_photo(
        by=case.created_by,
        case=case,
        upload=io.BytesIO(jpeg_bytes(colour=(60, 90, 160))),
        process_now=True,
    )
    case.refresh_from_db()
    case = submit_case(by=case.created_by, case=case, expected_version=case.version)
    assert case.photos.ready().count() == 2
    desktop.context.add_init_script(LISTEN)
    signed_in_staff(desktop.context, base, dermatologist)
    desktop.goto(f"{base}/clinic/cases/{case.uuid}/")

    # Laid out for work: the photos beside the questionnaire, not above it, and the page far
    # shorter than a photo per screen width.
    photos_box = desktop.locator(".workspace-photos").bounding_box()
    work_box = desktop.locator(".workspace-work").bounding_box()
    assert photos_box and work_box
    assert photos_box["x"] + photos_box["width"] <= work_box["x"], "photos left of the work"
    assert abs(photos_box["y"] - work_box["y"]) < 5, "side by side"
    thumb = desktop.locator(".photo-large img").first.bounding_box()
    assert thumb and 150 <= thumb["width"] <= 400, thumb
    message_button = desktop.get_by_role("button", name="Send the message")
    colour = message_button.evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), f"secondary style, not {colour}"
    expect(desktop.get_by_role("button", name="Forward")).to_be_visible()
    expect(desktop.get_by_role("button", name="Escalate as an emergency")).to_be_visible()
    expect(desktop.locator('.main-nav a[aria-current="true"]')).to_have_text("Review queue")

    # ? shows the list of shortcuts; it is on the page for anyone to read.
    shortcuts = desktop.locator("[data-shortcuts]")
    expect(shortcuts).not_to_have_attribute("open", "")
    desktop.keyboard.press("?")
    expect(shortcuts).to_have_attribute("open", "")
    expect(shortcuts.get_by_text("Save the draft")).to_be_visible()

    # t takes the case.
    desktop.keyboard.press("Escape")
    desktop.locator("h1").click()
    desktop.keyboard.press("t")
    expect(desktop.get_by_role("button", name="Sign and send")).to_be_visible()
    assert Case.objects.get(pk=case.pk).status == CaseStatus.IN_REVIEW

    # n / p step through the photos.
    desktop.keyboard.press("n")
    first = desktop.evaluate("document.activeElement.href")
    desktop.keyboard.press("n")
    second = desktop.evaluate("document.activeElement.href")
    desktop.keyboard.press("p")
    assert "/photos/" in first and first != second
    assert desktop.evaluate("document.activeElement.href") == first

    # a goes to the assessment; letters typed there are text, not shortcuts.
    desktop.keyboard.press("a")
    assert focused_id(desktop) == "id_assessment"
    desktop.keyboard.type("Sharp plaques; symmetric, silvery scale. No nail pits.")
    expect(desktop.get_by_label("Assessment")).to_have_value(
        "Sharp plaques; symmetric, silvery scale. No nail pits."
    )
    assert not Review.objects.exists(), "typing s in a field saved nothing"

    # d searches the code list (htmx) and a result is picked into the ICD-10 field.
    desktop.keyboard.press("Escape")
    desktop.keyboard.press("d")
    assert focused_id(desktop) == "code-search"
    desktop.keyboard.type("L40.0")
    pick = desktop.locator("#code-search-results .code-choice").first
    expect(pick).to_be_visible()
    pick.click()
    expect(desktop.get_by_label("ICD-10 codes")).to_have_value("L40.0")
    desktop.get_by_label("What it probably is").fill("Psoriasis")
    desktop.get_by_label("Advice to the patient").fill("Use the cream every evening.")
    check_accessibility(desktop, "clinic-workspace")
    desktop.screenshot(path=str(ARTIFACTS / "clinic-workspace-desktop.png"), full_page=True)

    # s saves the draft.
    desktop.keyboard.press("Escape")
    desktop.keyboard.press("s")
    expect(desktop.get_by_text("Draft saved. Only you can see it.")).to_be_visible()
    review = Review.objects.get()
    assert not review.is_signed and review.diagnoses.get().code == "L40.0"

    # Ctrl+Enter signs, even from inside a field.
    desktop.get_by_label("Advice to the patient").focus()
    desktop.keyboard.press("Control+Enter")
    expect(desktop.get_by_text("The answer has been signed and sent.")).to_be_visible()
    assert Case.objects.get(pk=case.pk).status == CaseStatus.ANSWERED
    assert violations(desktop) == []


def test_the_workspace_on_a_phone(
    live_server: Any, phone: Page, make_case: Callable[..., Case], dermatologist: User
) -> None:
    from telederm.review.services import take_for_review

    base = str(live_server)
    case = make_case(submit=True, photos=1)
    take_for_review(by=dermatologist, case=case, expected_version=case.version)
    phone.context.add_init_script(LISTEN)
    signed_in_staff(phone.context, base, dermatologist)
    phone.goto(f"{base}/clinic/cases/{case.uuid}/")
    expect(phone.get_by_role("button", name="Save draft")).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"no sideways scrolling on a phone ({width} px)"
    photos_box = phone.locator(".workspace-photos").bounding_box()
    work_box = phone.locator(".workspace-work").bounding_box()
    assert photos_box and work_box and photos_box["y"] < work_box["y"], "one column on a phone"
    phone.screenshot(path=str(ARTIFACTS / "clinic-workspace-phone.png"), full_page=True)
    check_accessibility(phone, "clinic-workspace-phone")
    phone.goto(f"{base}/clinic/")
    expect(phone.get_by_role("link", name=case.patient.full_name)).to_be_visible()
    check_accessibility(phone, "clinic-queue-phone")
    assert violations(phone) == []
