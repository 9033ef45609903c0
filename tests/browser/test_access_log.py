"""A patient reads, on a phone, who has opened their information: by name, role, organisation,
when and why, including a duty nurse's break-glass opening with the reason the nurse gave."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import formats, timezone, translation
from playwright.sync_api import Locator, Page, expect

from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.access import break_glass
from telederm.cases.models import Case
from telederm.cases.services import open_case
from telederm.review.services import take_for_review
from tests.browser.conftest import check_accessibility
from tests.browser.signin import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "Patient phoned about bleeding"


def shown_time(at: dt.datetime) -> str:
    """How the page writes a moment in English: local time, day first."""
    with translation.override("en"):
        return formats.date_format(timezone.localtime(at), "DATETIME_FORMAT")


def entry(log: Locator, *texts: str, without: str = "") -> Locator:
    """The one entry in the list that contains all these texts (and not `without`)."""
    found = log.get_by_role("listitem")
    for text in texts:
        found = found.filter(has_text=text)
    if without:
        found = found.filter(has_not_text=without)
    expect(found).to_have_count(1)
    return found


def position(item: Locator) -> int:
    return int(item.evaluate("li => [...li.parentElement.children].indexOf(li)"))


def expect_time(item: Locator, event: AccessEvent) -> None:
    when = item.locator("time")
    expect(when).to_have_text(shown_time(event.at))
    stamp = when.get_attribute("datetime")
    assert stamp is not None and dt.datetime.fromisoformat(stamp) == event.at


def test_patient_sees_who_opened_their_case_including_a_break_glass_opening(
    live_server: Any,
    phone: Page,
    patient_user: User,
    dermatologist: User,
    duty_nurse: User,
    make_case: Callable[..., Case],
) -> None:
    case = make_case(submit=True)
    case = take_for_review(by=dermatologist, case=case, expected_version=case.version)
    open_case(by=dermatologist, case_uuid=case.uuid)
    break_glass(by=duty_nurse, case=case, reason=REASON)
    open_case(by=duty_nurse, case_uuid=case.uuid)
    doctor_view = AccessEvent.objects.get(action="case.view", actor=dermatologist)
    nurse_break = AccessEvent.objects.get(action="case.break_glass", actor=duty_nurse)
    nurse_view = AccessEvent.objects.get(action="case.view", actor=duty_nurse)
    submitted = AccessEvent.objects.get(action="case.submit", actor=patient_user)

    sign_in(phone, str(live_server), patient_user)
    expect(phone.get_by_role("heading", name="My cases")).to_be_visible()
    phone.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Who has seen my information"
    ).click()
    expect(phone.get_by_role("heading", name="Who has seen my information")).to_be_visible()
    expect(phone).to_have_url(str(live_server) + "/privacy/my-access-log/")

    log = phone.locator("ol.access-log")
    opened = entry(
        log,
        "Erik Strand, Dermatologist, Telederm hudklinikk",
        "Opened your case",
        without="outside their usual access",
    )
    expect(opened).to_contain_text("Why: assigned to the case")
    expect_time(opened, doctor_view)

    broke = entry(
        log,
        "Mona Berg, Duty nurse, Telederm hudklinikk",
        "Opened your case outside their usual access",
    )
    expect(broke).to_contain_text(f"Why: emergency access: “{REASON}”")
    expect_time(broke, nurse_break)

    nurse_read = entry(
        log,
        "Mona Berg, Duty nurse, Telederm hudklinikk",
        "Opened your case",
        without="outside their usual access",
    )
    expect(nurse_read).to_contain_text(f"Why: emergency access: “{REASON}”")
    expect_time(nurse_read, nurse_view)

    mine = entry(log, "You", "Sent your case to the clinic")
    expect(mine).not_to_contain_text("Dermatologist")
    expect_time(mine, submitted)
    # Reading the list is itself written down, and shown on the next visit.
    assert AccessEvent.objects.filter(action="access_log.own.view", actor=patient_user).count() == 1

    # Newest first: the nurse's reading, her break-glass, the dermatologist's opening, the sending.
    positions = [position(item) for item in (nurse_read, broke, opened, mine)]
    assert positions == sorted(positions), positions
    # Nothing runs off the side of a 390-pixel phone.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    check_accessibility(phone, "patient-access-log")

    # In bokmål.
    language = phone.get_by_label("Language")
    language.select_option("nb")
    phone.get_by_role("button", name="Change").click()
    expect(phone.locator("html")).to_have_attribute("lang", "nb")
    expect(phone).to_have_url(str(live_server) + "/privacy/my-access-log/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Hvem har sett opplysningene mine")
    check_accessibility(phone, "patient-access-log-nb")
