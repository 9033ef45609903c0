"""SMS: the pluggable backends (a real HTTP gateway on loopback), numbers, and what a text says."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.template.loader import render_to_string

from telederm.core import sms
from telederm.core.notify import notify_person


@dataclass
class Gateway:
    """A tiny SMS gateway: answers each POST with `status` after `delay` seconds."""

    url: str
    status: int = 200
    delay: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(length))
            state.received.append({"body": body, "auth": self.headers["Authorization"]})
            time.sleep(state.delay)
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def http_backend(settings: Any, gateway: Gateway) -> Gateway:
    settings.TELEDERM_SMS_BACKEND = "telederm.core.sms.HttpBackend"
    settings.TELEDERM_SMS_URL = gateway.url
    settings.TELEDERM_SMS_TOKEN = "test-token"
    settings.TELEDERM_SMS_SENDER = "Telederm"
    return gateway


def test_http_backend_posts_json_with_the_token(http_backend: Gateway) -> None:
    sms.send_sms(to="+4791234567", text="  You have news.  ")
    assert http_backend.received == [
        {
            "body": {"to": "+4791234567", "from": "Telederm", "text": "You have news."},
            "auth": "Bearer test-token",
        }
    ]


def test_a_gateway_error_raises_so_the_task_fails_visibly(http_backend: Gateway) -> None:
    http_backend.status = 500
    with pytest.raises(sms.SmsError, match="500"):
        sms.send_sms(to="+4791234567", text="You have news.")


def test_a_gateway_that_does_not_answer_in_time_raises(
    http_backend: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sms.HttpBackend, "timeout_seconds", 0.2)
    http_backend.delay = 1.0
    with pytest.raises(sms.SmsError):
        sms.send_sms(to="+4791234567", text="You have news.")


@pytest.mark.parametrize("address", ["", "file:///etc/passwd", "ftp://gateway.example/sms"])
def test_no_gateway_address_or_one_not_http_is_an_error(settings: Any, address: str) -> None:
    settings.TELEDERM_SMS_BACKEND = "telederm.core.sms.HttpBackend"
    settings.TELEDERM_SMS_URL = address
    with pytest.raises(sms.SmsError, match="http"):
        sms.send_sms(to="+4791234567", text="You have news.")


def test_an_unreachable_gateway_raises(settings: Any) -> None:
    settings.TELEDERM_SMS_BACKEND = "telederm.core.sms.HttpBackend"
    settings.TELEDERM_SMS_URL = "http://127.0.0.1:9/sms"  # discard port: nobody listens
    with pytest.raises(sms.SmsError):
        sms.send_sms(to="+4791234567", text="You have news.")


def test_file_backend_writes_one_json_file_per_message(settings: Any, tmp_path: Path) -> None:
    settings.TELEDERM_SMS_BACKEND = "telederm.core.sms.FileBackend"
    settings.TELEDERM_SMS_FILE_PATH = tmp_path / "sms"
    sms.send_sms(to="+4791234567", text="Første melding")
    sms.send_sms(to="+4791234567", text="Second")
    files = sorted((tmp_path / "sms").glob("*.json"))
    assert len(files) == 2
    texts = {json.loads(f.read_text("utf-8"))["text"] for f in files}
    assert texts == {"Første melding", "Second"}


def test_locmem_backend_keeps_messages_for_tests() -> None:
    sms.send_sms(to="+4791234567", text="Hello")
    assert sms.outbox == [sms.Sms(to="+4791234567", sender="Telederm", text="Hello")]


def test_long_texts_are_cut_to_three_parts() -> None:
    sms.send_sms(to="+4791234567", text="x" * 1000)
    assert len(sms.outbox[0].text) == 480


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("+4791234567", True),
        ("+46701234567", True),
        ("91234567", False),
        ("+047", False),
        ("+4791234567; rm", False),
        ("", False),
    ],
)
def test_only_international_numbers_are_valid(number: str, valid: bool) -> None:
    assert sms.is_valid_number(number) is valid


def test_an_invalid_number_is_skipped() -> None:
    sms.send_sms(to="912 34 567", text="Hello")
    assert sms.outbox == []


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("912 34 567", "+4791234567"),
        ("412-34-567", "+4741234567"),
        ("+47 912 34 567", "+4791234567"),
        ("0047 91234567", "+4791234567"),
        ("(+46) 70 123 45 67", "+46701234567"),
        ("22 12 34 56", ""),  # a Norwegian landline takes no SMS
        ("call me", ""),
    ],
)
def test_numbers_are_normalised_as_people_type_them(typed: str, stored: str) -> None:
    assert sms.normalise_number(typed) == stored


@dataclass
class Person:
    email: str = "pasient@example.no"
    preferred_language: str = "en"
    mobile_number: str = "+4791234567"


def test_notify_person_sends_mail_and_sms_from_the_twin_template() -> None:
    notify_person(
        person=Person(),
        template="cases/email/new_message.txt",
        context={"link": "https://telederm.example/cases/x/"},
    )
    assert mail.outbox[0].to == ["pasient@example.no"]
    assert sms.outbox[0].text == (
        "You have a new message in Telederm. Sign in to read it: https://telederm.example/cases/x/"
    )


def test_notify_person_without_a_number_sends_mail_only() -> None:
    notify_person(
        person=Person(mobile_number=""), template="cases/email/new_message.txt", context={}
    )
    assert len(mail.outbox) == 1
    assert sms.outbox == []


SMS_TEMPLATES = sorted(
    str(path.relative_to(path.parents[2]))
    for path in Path(__file__).resolve().parents[2].glob("*/templates/*/email/*.sms.txt")
)


@dataclass
class Leaky:
    """Whatever a template might reach for: every attribute is clinical content."""

    secret: str = "MELANOMA-SECRET"

    def __getattr__(self, name: str) -> str:
        return self.secret

    def __str__(self) -> str:
        return self.secret


@pytest.mark.parametrize("template", SMS_TEMPLATES)
def test_no_sms_template_prints_case_content(template: str) -> None:
    leaky = Leaky()
    context = dict.fromkeys(("case", "message", "review", "alarm", "person", "grant"), leaky)
    text = render_to_string(template, {"base_url": "https://t.example", "link": "/x", **context})
    assert "MELANOMA-SECRET" not in text
    assert len(text.strip()) <= 480


def test_there_are_sms_templates_to_check() -> None:
    assert "cases/email/new_message.sms.txt" in {
        t.split("templates/", 1)[-1] for t in SMS_TEMPLATES
    }
