"""The Content-Security-Policy in a real browser: no page breaks it, and sign-in redirects pass it.

Chromium reports every blocked script, style, image or form submission as a
`securitypolicyviolation` event and a console error; both are collected from before the first
byte of each page (an init script, which the page's policy does not govern).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from telederm.accounts.models import User
from telederm.cases.models import Case
from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


class Watched:
    """A page whose CSP violations and console errors about them are collected."""

    def __init__(self, context: BrowserContext) -> None:
        context.add_init_script(LISTEN)
        self.page = context.new_page()
        self.console: list[str] = []
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    def visit(self, url: str) -> dict[str, str]:
        """Open the page; return its response headers. Fails on any CSP violation."""
        response = self.page.goto(url)
        assert response is not None and response.ok, f"{url}: {response and response.status}"
        self.page.wait_for_load_state("load")
        self.assert_no_violations(url)
        return response.headers

    def violations(self) -> list[str]:
        return list(self.page.evaluate("window.__cspViolations || []"))

    def assert_no_violations(self, where: str) -> None:
        assert self.violations() == [], f"{where}: {self.violations()}"
        assert self.console == [], f"{where}: {self.console}"


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    yield Watched(context)
    context.close()


def assert_policy_header(headers: dict[str, str]) -> None:
    policy = headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "default-src 'self'" in policy, policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def sign_in_by_cookie(context: BrowserContext, base: str, user: User) -> None:
    """A signed-in session, made as the test client makes one (independent of the sign-in UI)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [{"name": cookie.key, "value": cookie.value, "url": base, "httpOnly": True}]
    )


def test_public_pages_keep_to_the_policy(live_server: Any, watched: Watched) -> None:
    base = str(live_server)
    assert_policy_header(watched.visit(base + "/"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    watched.page.screenshot(path=str(ARTIFACTS / "csp-front-page.png"), full_page=True)
    # The stylesheet loaded (a blocked one would leave the page unstyled), htmx ran and kept its
    # indicator <style> out, as the htmx-config meta tag asks.
    assert watched.page.evaluate("document.styleSheets.length") >= 1
    assert watched.page.evaluate("window.htmx && htmx.config.includeIndicatorStyles") is False
    assert watched.page.evaluate("document.querySelectorAll('style').length") == 0

    assert_policy_header(watched.visit(base + reverse(django_settings.LOGIN_URL)))
    assert_policy_header(watched.visit(base + reverse("admin:login")))


def test_a_patients_pages_keep_to_the_policy(
    live_server: Any,
    watched: Watched,
    patient_user: User,
    make_case: Callable[..., Case],
) -> None:
    base = str(live_server)
    draft = make_case(photos=1)
    sign_in_by_cookie(watched.page.context, base, patient_user)

    headers = watched.visit(base + reverse("cases:list"))
    assert_policy_header(headers)
    assert "no-store" in headers.get("cache-control", "")
    for url in (
        reverse("cases:new"),
        reverse("cases:detail", args=[draft.uuid]),
        reverse("photos:manage", args=[draft.uuid]),
    ):
        assert_policy_header(watched.visit(base + url))

    # The photo thumbnail on the photos page is a same-origin image the policy allows.
    thumbnail = watched.page.locator("main img").first
    thumbnail.scroll_into_view_if_needed()
    watched.page.wait_for_function(
        "Array.from(document.images).some(img => img.complete && img.naturalWidth > 0)"
    )
    watched.assert_no_violations("the photo thumbnail")


IDP = "https://idp.test"
TO_IDP = re.compile(r"^https://idp\.test/")


def submit_sign_in_that_redirects_to_the_provider(page: Page, base: str) -> None:
    """What an OpenID Connect sign-in does: a form POST to us, answered by a 302 to the provider.

    Both are played by Playwright's network interception, so nothing leaves the machine; the
    page holding the form is our real sign-in page with its real policy.
    """

    def redirect(route: Route) -> None:
        route.fulfill(status=302, headers={"Location": IDP + "/authorize?client_id=telederm"})

    page.route(base + "/oidc-sign-in-probe/", redirect)
    page.route(TO_IDP, lambda route: route.fulfill(status=200, body="identity provider"))
    page.evaluate(
        """() => {
          const form = document.createElement("form");
          form.method = "post";
          form.action = "/oidc-sign-in-probe/";
          document.body.append(form);
          form.submit();
        }"""
    )


def test_form_action_blocks_a_redirect_to_an_unlisted_provider(
    live_server: Any, watched: Watched
) -> None:
    base = str(live_server)
    watched.visit(base + reverse(django_settings.LOGIN_URL))
    with watched.page.expect_console_message(lambda m: "form-action" in m.text):
        submit_sign_in_that_redirects_to_the_provider(watched.page, base)
    assert watched.page.url.startswith(base), "Chromium applies form-action to the redirect"
    assert any(v.startswith("form-action") for v in watched.violations())


def test_form_action_lets_a_listed_provider_through(
    live_server: Any, watched: Watched, settings: Any
) -> None:
    policy = settings.CONTENT_SECURITY_POLICY
    directives = {**policy["DIRECTIVES"], "form-action": ["'self'", IDP]}
    settings.CONTENT_SECURITY_POLICY = {**policy, "DIRECTIVES": directives}
    base = str(live_server)
    watched.visit(base + reverse(django_settings.LOGIN_URL))
    submit_sign_in_that_redirects_to_the_provider(watched.page, base)
    expect(watched.page.locator("body")).to_have_text("identity provider")
    assert TO_IDP.match(watched.page.url)
    assert watched.console == []
