"""Django's live server for tests that talk to it over real HTTP (tuspy, raw sockets).

On SQLite the live server's threads share the test's one in-memory connection, so two requests
at once would interleave their transactions on it ("database table is locked"): there requests
are served one at a time, as tests/browser/conftest.py does for Chromium. On PostgreSQL each
server thread has its own connection and requests really run at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from telederm.accounts.models import User


@pytest.fixture
def live_base(live_server: Any) -> Iterator[str]:
    """The live server's base URL, serving one request at a time on SQLite."""
    if connection.vendor != "sqlite":
        yield str(live_server)
        return
    from django.core.handlers.wsgi import WSGIHandler

    original = WSGIHandler.__call__
    lock = threading.Lock()

    def serialised(self: WSGIHandler, environ: Any, start_response: Any) -> Any:
        with lock:
            return original(self, environ, start_response)

    WSGIHandler.__call__ = serialised  # type: ignore[method-assign]
    try:
        yield str(live_server)
    finally:
        WSGIHandler.__call__ = original  # type: ignore[method-assign]


def browser_headers(user: User, csrf_token: str = "c" * 32) -> dict[str, str]:
    """What a signed-in browser's script sends: the session and CSRF cookies, and X-CSRFToken."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    cookies = {settings.SESSION_COOKIE_NAME: session, settings.CSRF_COOKIE_NAME: csrf_token}
    return {
        "Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items()),
        "X-CSRFToken": csrf_token,
    }
