"""Take phone-sized screenshots of the main pages as each persona, for people to look at.

    uv run python scripts/screenshots.py [BASE_URL] [OUT_DIR]

Needs a running server with the demo data (`make run`) and Debian's Chromium.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telederm.settings")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
django.setup()

from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from playwright.sync_api import Page, sync_playwright

from telederm.demo.management.commands.demo import DEMO_TOTP_SECRET
from tests.browser.chromium import launch

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(sys.argv[2] if len(sys.argv) > 2 else "test-artifacts/screenshots")
PASSWORD = "Telederm-demo-2026"


def kari_cases() -> tuple[str, str]:
    """Kari's draft (its photo page) and her newest sent case (a mole photographed twice)."""
    from telederm.cases.models import Case

    mine = Case.objects.filter(patient__user__email="kari@pasient.example")
    draft = mine.filter(status="draft").latest("created_at")
    newest = mine.exclude(status="draft").latest("created_at")
    return str(draft.uuid), str(newest.uuid)


def compare_path(case_uuid: str) -> str:
    from telederm.photos.models import Lesion

    lesion = Lesion.objects.filter(photos__case__uuid=case_uuid).first()
    return f"/cases/{case_uuid}/lesions/{lesion.uuid if lesion else ''}/compare/"


def sign_in(page: Page, email: str) -> None:
    """Password, then (for staff) the code an authenticator app with the demo key shows."""
    page.goto(BASE + "/account/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form[action='/account/login/'] button[type=submit]")
    if "/account/2fa/authenticate/" in page.url:
        counter = next(iter(yield_hotp_counters_from_time()))
        page.fill("input[name=code]", format_hotp_value(hotp_value(DEMO_TOTP_SECRET, counter)))
        page.click("main form button[type=submit]")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    draft, newest = kari_cases()  # before Playwright's event loop: the ORM is synchronous
    compare = compare_path(newest)
    with sync_playwright() as p:
        browser = launch(p)
        for email, paths, width, locale in [
            (None, ["/", "/account/login/"], 390, "nb-NO"),
            (
                "kari@pasient.example",
                ["/cases/", "/cases/new/", f"/cases/{draft}/photos/", "/privacy/my-access-log/"],
                390,
                "nb-NO",
            ),
            ("ola@pasient.example", ["/cases/", "/privacy/my-access-log/"], 390, "en-GB"),
            ("lege@nordkapp.example", ["/cases/", "/cases/new/"], 390, "nb-NO"),
            (
                "hudlege@telederm.example",
                ["/clinic/", f"/clinic/cases/{newest}/", compare, "/account/2fa/"],
                1280,
                "nb-NO",
            ),
            ("kirurg@sykehus.example", ["/cases/"], 390, "en-GB"),
            ("personvern@telederm.example", ["/privacy/review/"], 1280, "en-GB"),
        ]:
            context = browser.new_context(viewport={"width": width, "height": 800}, locale=locale)
            page = context.new_page()
            if email:
                sign_in(page, email)
            for path in paths:
                page.goto(BASE + path)
                page.wait_for_load_state("networkidle")
                slug = path.replace("/", "_")[:60]
                name = f"{(email or 'anon').split('@')[0]}{slug}{locale}.png"
                page.screenshot(path=str(OUT / name), full_page=True)
                print(OUT / name)
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
