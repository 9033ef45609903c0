"""How Telederm starts Debian's Chromium under Playwright, for the browser tests and screenshots.

The flags keep Chromium off the network (this machine's network is closed) and headless as root.
"""

from __future__ import annotations

import shutil

from playwright.sync_api import Browser, Playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(playwright: Playwright) -> Browser:
    """Debian's chromium, found on PATH; Playwright cannot download a browser here."""
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is required (make system-deps)"
    return playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
