"""Debian's Chromium driven by Playwright, and axe-core to check each page's accessibility."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.chromium import launch

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "browser"

# Playwright's sync API runs an event loop in this thread; the test thread still only touches
# the database between browser calls, never concurrently with it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Held while the live server handles a request, and by the photo worker below.
SERVER_LOCK = threading.Lock()


@pytest.fixture(scope="session", autouse=True)
def _one_request_at_a_time() -> Iterator[None]:
    """On SQLite the live server's threads share the test's one in-memory connection; two
    requests at once (a page and its images) would interleave their transactions on it and hit
    "database table is locked". Serving one request at a time removes that race; PostgreSQL and
    the real server (a file in WAL mode, one connection per thread) never share a connection."""
    from django.core.handlers.wsgi import WSGIHandler

    original = WSGIHandler.__call__

    def serialised(self: WSGIHandler, environ: Any, start_response: Any) -> Any:
        with SERVER_LOCK:
            return original(self, environ, start_response)

    WSGIHandler.__call__ = serialised  # type: ignore[method-assign]
    yield
    WSGIHandler.__call__ = original  # type: ignore[method-assign]


@pytest.fixture
def photo_worker(live_server: Any) -> Iterator[None]:
    """What `telederm worker` does for photos, beside the live server: every half second, process
    the pending photos (the same service the queued task calls), one request-slot at a time."""
    from telederm.photos import services
    from telederm.photos.models import Photo

    stop = threading.Event()

    def work() -> None:
        from django.db import connection

        try:
            while not stop.wait(0.5):
                with SERVER_LOCK:
                    pending = Photo.objects.filter(status="pending").values_list("uuid", flat=True)
                    for uuid in pending:
                        services.process_photo(photo_uuid=uuid)
        finally:
            connection.close()  # this thread's own connection (PostgreSQL); not the test's

    thread = threading.Thread(target=work, name="photo-worker", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    assert AXE.exists(), "axe-core is missing: run `make frontend`"
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="en-GB", is_mobile=True, has_touch=True
    )
    yield context.new_page()
    context.close()


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    yield context.new_page()
    context.close()


def check_accessibility(page: Page, name: str) -> None:
    """Run axe-core on the page; fail on any serious or critical violation. Keep a screenshot."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    # Evaluated, not added as a <script> tag: an inline tag would break the page's CSP (ADR 0008).
    page.evaluate(AXE.read_text())
    results: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in results["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert not serious, f"{name}: " + "; ".join(serious)
    assert results["passes"], "axe ran no checks"
