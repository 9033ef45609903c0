"""Signing in through the real pages: e-mail and password, then a TOTP code where one is set up."""

from __future__ import annotations

import time

from allauth.mfa import app_settings
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from playwright.sync_api import CDPSession, Page, expect

from conftest import PASSWORD
from telederm.accounts.models import User


def give_totp(user: User) -> str:
    """Set up an authenticator app for this person, as they would on the two-factor page."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_code(secret: str) -> str:
    """The code an authenticator app shows now."""
    counter = next(iter(yield_hotp_counters_from_time()))
    return format_hotp_value(hotp_value(secret, counter))


def sign_in(page: Page, base: str, user: User, *, totp_secret: str | None = None) -> None:
    page.goto(base + "/account/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    if totp_secret is not None:
        page.get_by_label("Code").fill(fresh_totp_code(totp_secret))
        page.get_by_role("main").get_by_role("button", name="Sign in").click()


def fresh_totp_code(secret: str, *, seconds_left: float = 4.0) -> str:
    """The code an authenticator app shows now, waiting for the next one if this one is about to
    expire: Telederm allows no clock drift (MFA_TOTP_TOLERANCE 0), so a code typed in the last
    second of its period would be refused by the time the form arrives."""
    period = app_settings.TOTP_PERIOD
    remaining = period - time.time() % period
    if remaining < seconds_left:
        time.sleep(remaining + 0.1)
    return totp_code(secret)


def wrong_totp_code(secret: str) -> str:
    """Six digits that are not the code of this moment (nor of the periods either side)."""
    valid = {
        format_hotp_value(hotp_value(secret, counter + offset))
        for counter in yield_hotp_counters_from_time()
        for offset in (-1, 0, 1)
    }
    candidate = 123456
    while format_hotp_value(candidate) in valid:
        candidate = (candidate + 1) % 10**app_settings.TOTP_DIGITS
    return format_hotp_value(candidate)


def add_virtual_authenticator(page: Page) -> tuple[CDPSession, str]:
    """A security key plugged into this page's browser: Chrome's WebAuthn virtual authenticator,
    which touches itself when asked (automatic presence) and verifies its user (as with a PIN).

    Returns the DevTools session and the authenticator's id, to read its credentials."""
    session = page.context.new_cdp_session(page)
    session.send("WebAuthn.enable")
    added = session.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return session, str(added["authenticatorId"])


def confirm_access(page: Page) -> None:
    """allauth's "Confirm Access" step: the password again before a second factor is changed
    (it asks even right after signing in; only an explicit re-entry counts)."""
    expect(page.get_by_role("heading", name="Confirm Access")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Confirm").click()
