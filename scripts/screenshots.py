"""Take phone-sized screenshots of the main pages as each persona, for people to look at.

    uv run python scripts/screenshots.py [BASE_URL] [OUT_DIR]

Needs a running server with the demo data (`make run`) and Debian's Chromium.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.browser.chromium import launch

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(sys.argv[2] if len(sys.argv) > 2 else "test-artifacts/screenshots")
PASSWORD = "Telederm-demo-2026"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        for email, paths, width, locale in [
            (None, ["/", "/sign-in/"], 390, "nb-NO"),
            ("kari@pasient.example", ["/cases/", "/cases/new/"], 390, "nb-NO"),
            ("ola@pasient.example", ["/cases/"], 390, "en-GB"),
            ("lege@nordkapp.example", ["/cases/", "/cases/new/"], 390, "nb-NO"),
            ("hudlege@telederm.example", ["/clinic/"], 1280, "nb-NO"),
        ]:
            context = browser.new_context(viewport={"width": width, "height": 800}, locale=locale)
            page = context.new_page()
            if email:
                page.goto(BASE + "/sign-in/")
                page.fill("input[name=username]", email)
                page.fill("input[name=password]", PASSWORD)
                page.click("main button[type=submit]")
            for path in paths:
                page.goto(BASE + path)
                name = f"{(email or 'anon').split('@')[0]}{path.replace('/', '_')}{locale}.png"
                page.screenshot(path=str(OUT / name), full_page=True)
                print(OUT / name)
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
