"""Two-factor authentication in Chromium: setting up an authenticator app or a security key on
allauth's pages, then signing in with it. Staff cannot reach patient data without a second factor;
patients sign in with a password alone.

The security key is Chrome's WebAuthn virtual authenticator, driven over the DevTools protocol:
the browser runs allauth's own webauthn.js against it, exactly as with a key in a USB port.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import Browser, Locator, Page, expect

from telederm.accounts.models import User
from tests.browser.conftest import check_accessibility
from tests.browser.signin import (
    add_virtual_authenticator,
    confirm_access,
    fresh_totp_code,
    give_totp,
    sign_in,
    wrong_totp_code,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SET_UP_FIRST = "Set up two-factor authentication before you work with patient data."


class CspWatch:
    """Console errors about the Content-Security-Policy on a page: allauth's scripts must run
    under script-src 'self' without any exception."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.errors.append(message.text)


@pytest.fixture
def desk(browser: Browser) -> Iterator[Page]:
    """A desktop page whose origin is http://localhost (a secure context, as WebAuthn needs)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    yield context.new_page()
    context.close()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")
    ).to_be_visible()


def panel(page: Page, title: str) -> Locator:
    """One of the boxes on the two-factor page, by its heading."""
    return page.locator("section").filter(has=page.get_by_role("heading", name=title))


def expect_signed_out(page: Page) -> None:
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_dermatologist_sets_up_an_authenticator_app_and_signs_in_with_it(
    live_server: Any, desk: Page, dermatologist: User
) -> None:
    base = str(live_server)
    csp = CspWatch(desk)

    # A password alone opens no patient data: the clinic sends staff to set up a second factor.
    sign_in(desk, base, dermatologist)
    desk.goto(base + "/clinic/")
    expect(desk).to_have_url(base + "/account/2fa/")
    expect(desk.get_by_text(SET_UP_FIRST)).to_be_visible()
    expect(
        desk.get_by_role("heading", name="Two-Factor Authentication", exact=True)
    ).to_be_visible()
    expect(desk.get_by_text("An authenticator app is not active.")).to_be_visible()
    check_accessibility(desk, "mfa-index-before")

    # The authenticator app: the page shows the secret (and a QR code of it) to enter in the app.
    apps = panel(desk, "Authenticator App")
    apps.get_by_role("link", name="Activate").click()
    # allauth asks for the password again before any second factor is added.
    check_accessibility(desk, "mfa-confirm-access")
    confirm_access(desk)
    expect(desk).to_have_url(base + "/account/2fa/totp/activate/")
    expect(desk.get_by_role("heading", name="Activate Authenticator App")).to_be_visible()
    secret = desk.get_by_label("Authenticator secret").input_value()
    assert len(secret) == 32 and secret.isalnum(), "a base-32 secret is shown"
    qr = desk.get_by_role("img", name=secret)
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") > 0, "the QR code loads under the CSP"
    check_accessibility(desk, "mfa-totp-activate")

    # A wrong code activates nothing.
    desk.get_by_label("Authenticator code").fill(wrong_totp_code(secret))
    desk.get_by_role("button", name="Activate").click()
    expect(desk.get_by_text("Incorrect code.")).to_be_visible()
    assert not Authenticator.objects.filter(user=dermatologist).exists()
    # The secret stays the same while the form is redone.
    assert desk.get_by_label("Authenticator secret").input_value() == secret

    desk.get_by_label("Authenticator code").fill(fresh_totp_code(secret))
    desk.get_by_role("button", name="Activate").click()

    # Recovery codes, made with the first authenticator, shown to be written down.
    expect(desk).to_have_url(base + "/account/2fa/recovery-codes/")
    expect(desk.get_by_role("heading", name="Recovery Codes")).to_be_visible()
    codes = desk.get_by_label("Unused codes").input_value().split()
    assert len(codes) == 10 and len(set(codes)) == 10
    check_accessibility(desk, "mfa-recovery-codes")

    totp = Authenticator.objects.get(user=dermatologist, type=Authenticator.Type.TOTP)
    assert Authenticator.objects.filter(
        user=dermatologist, type=Authenticator.Type.RECOVERY_CODES
    ).exists()
    # The code just proved counts as this session's second factor: straight to work.
    desk.goto(base + "/clinic/")
    expect(desk).to_have_url(base + "/clinic/")
    expect(desk.get_by_role("heading", name="Review queue")).to_be_visible()
    desk.goto(base + "/account/2fa/")
    expect(desk.get_by_text("Authentication using an authenticator app is active.")).to_be_visible()

    # Next time: the password, then a code from the app.
    sign_out(desk)
    sign_in(desk, base, dermatologist)
    expect(desk).to_have_url(base + "/account/2fa/authenticate/")
    expect(desk.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    expect(desk.get_by_label("Code")).to_be_visible()
    expect_signed_out(desk)
    check_accessibility(desk, "mfa-authenticate")

    desk.get_by_label("Code").fill(wrong_totp_code(secret))
    desk.get_by_role("main").get_by_role("button", name="Sign in").click()
    expect(desk.get_by_text("Incorrect code.")).to_be_visible()
    expect_signed_out(desk)
    expect(desk).to_have_url(base + "/account/2fa/authenticate/")

    desk.get_by_label("Code").fill(fresh_totp_code(secret))
    desk.get_by_role("main").get_by_role("button", name="Sign in").click()
    expect(desk.get_by_role("heading", name="Review queue")).to_be_visible()
    expect(desk).to_have_url(base + "/clinic/")
    desk.goto(base + "/clinic/")
    expect(desk.get_by_role("heading", name="Review queue")).to_be_visible()
    totp.refresh_from_db()
    assert totp.last_used_at is not None, "allauth recorded the sign-in with the app"
    assert csp.errors == []


def test_dermatologist_adds_a_security_key_and_signs_in_with_it(
    live_server: Any, desk: Page, dermatologist: User
) -> None:
    base = str(live_server)
    csp = CspWatch(desk)
    cdp, authenticator_id = add_virtual_authenticator(desk)

    # allauth lets a security key be the first (and only) second factor.
    sign_in(desk, base, dermatologist)
    desk.goto(base + "/clinic/")
    expect(desk).to_have_url(base + "/account/2fa/")
    keys = panel(desk, "Security Keys")
    expect(keys.get_by_text("No security keys have been added.")).to_be_visible()
    keys.get_by_role("link", name="Add").click()
    confirm_access(desk)
    expect(desk).to_have_url(base + "/account/2fa/webauthn/add/")
    expect(desk.get_by_role("heading", name="Add Security Key")).to_be_visible()
    check_accessibility(desk, "mfa-webauthn-add")
    desk.get_by_label("Name").fill("Office key")
    desk.wait_for_load_state("networkidle")
    desk.get_by_role("button", name="Add", exact=True).click()

    expect(desk.get_by_role("heading", name="Recovery Codes")).to_be_visible(timeout=15_000)
    key = Authenticator.objects.get(user=dermatologist, type=Authenticator.Type.WEBAUTHN)
    assert key.wrap().name == "Office key"
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert len(credentials["credentials"]) == 1, "the key holds one credential, for Telederm"
    assert credentials["credentials"][0]["rpId"] == "localhost"
    # Adding the key proved it: this session may open patient data.
    desk.goto(base + "/clinic/")
    expect(desk.get_by_role("heading", name="Review queue")).to_be_visible()

    # Next time: the password, then the key.
    sign_out(desk)
    sign_in(desk, base, dermatologist)
    expect(desk).to_have_url(base + "/account/2fa/authenticate/")
    expect_signed_out(desk)
    desk.get_by_role("button", name="Use a security key").click()
    expect(desk.get_by_role("heading", name="Review queue")).to_be_visible()
    expect(desk).to_have_url(base + "/clinic/")
    after = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert after["credentials"][0]["signCount"] > credentials["credentials"][0]["signCount"], (
        "the key signed the sign-in challenge"
    )
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert csp.errors == []


def test_a_security_key_from_another_browser_does_not_sign_in(
    live_server: Any, browser: Browser, desk: Page, dermatologist: User
) -> None:
    """The key answers only for the credential it holds: a key plugged into another browser, which
    never registered with Telederm, cannot complete the second step."""
    base = str(live_server)
    add_virtual_authenticator(desk)
    sign_in(desk, base, dermatologist)
    desk.goto(base + "/account/2fa/webauthn/add/")
    confirm_access(desk)
    expect(desk.get_by_role("heading", name="Add Security Key")).to_be_visible()
    # The key is asked for by the page's script: click only once it has loaded and taken over.
    desk.wait_for_load_state("networkidle")
    desk.get_by_role("button", name="Add", exact=True).click()
    expect(desk.get_by_role("heading", name="Recovery Codes")).to_be_visible(timeout=15_000)

    other = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    try:
        page = other.new_page()
        add_virtual_authenticator(page)
        sign_in(page, base, dermatologist)
        expect(page).to_have_url(base + "/account/2fa/authenticate/")
        # The browser finds no credential for Telederm on this key: allauth's script gets an error
        # and posts nothing.
        with page.expect_console_message(lambda m: m.type == "error") as failure:
            page.get_by_role("button", name="Use a security key").click()
        assert "NotAllowedError" in failure.value.text
        expect(page).to_have_url(base + "/account/2fa/authenticate/")
        expect_signed_out(page)
        page.goto(base + "/clinic/")
        expect(page).to_have_url(base + "/account/2fa/authenticate/")
        expect_signed_out(page)
    finally:
        other.close()


def test_patient_signs_in_with_a_password_and_no_second_step(
    live_server: Any, phone: Page, patient_user: User
) -> None:
    base = str(live_server)
    sign_in(phone, base, patient_user)
    expect(phone.get_by_role("heading", name="My cases")).to_be_visible()
    expect(phone).to_have_url(base + "/cases/")
    expect(phone.get_by_label("Code")).to_have_count(0)
    expect(phone.get_by_text(SET_UP_FIRST)).to_have_count(0)
    assert not Authenticator.objects.filter(user=patient_user).exists()


def test_half_way_through_signing_in_a_duty_nurse_is_not_signed_in(
    live_server: Any, desk: Page, duty_nurse: User
) -> None:
    """Any staff role, not only dermatologists: the code step stands between password and data."""
    base = str(live_server)
    secret = give_totp(duty_nurse)
    sign_in(desk, base, duty_nurse)
    expect(desk).to_have_url(base + "/account/2fa/authenticate/")
    expect_signed_out(desk)
    # Trying to skip the code step leads back to it.
    desk.goto(base + "/clinic/")
    expect(desk).to_have_url(base + "/account/2fa/authenticate/")
    expect_signed_out(desk)
    desk.get_by_label("Code").fill(fresh_totp_code(secret))
    desk.get_by_role("main").get_by_role("button", name="Sign in").click()
    expect(desk.get_by_role("button", name="Sign out")).to_be_visible()
    desk.goto(base + "/clinic/")
    # Signed in now: a duty nurse's clinic is the triage queue.
    expect(desk).to_have_url(base + "/clinic/triage/")
