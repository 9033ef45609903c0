"""SMS through a pluggable gateway: the setting TELEDERM_SMS_BACKEND names the class.

Like e-mail, an SMS only says that there is news and where to sign in; never health details.

- `FileBackend` (the embedded default) writes each message as one JSON file under
  TELEDERM_SMS_FILE_PATH, like Django's file-based e-mail backend.
- `LocMemBackend` keeps messages in `outbox` (tests).
- `HttpBackend` POSTs JSON `{"to", "from", "text"}` with a bearer token to TELEDERM_SMS_URL, the
  shape most Norwegian SMS gateways accept behind a small adapter; a non-2xx answer raises, so
  the worker task that sent it fails and is visible to the operator.
"""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from telederm.core import clock

E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")


@dataclass(frozen=True)
class Sms:
    to: str
    sender: str
    text: str


class SmsBackend(Protocol):
    def send(self, message: Sms) -> None: ...


class SmsError(Exception):
    """The gateway refused or could not be reached."""


outbox: list[Sms] = []


class LocMemBackend:
    def send(self, message: Sms) -> None:
        outbox.append(message)


class FileBackend:
    def send(self, message: Sms) -> None:
        folder = Path(settings.TELEDERM_SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{clock.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.json"
        (folder / name).write_text(json.dumps(asdict(message), ensure_ascii=False), "utf-8")


class HttpBackend:
    timeout_seconds = 10

    def send(self, message: Sms) -> None:
        if not settings.TELEDERM_SMS_URL.startswith(("https://", "http://")):
            raise SmsError("TELEDERM_SMS_URL must be an http(s) address")
        body = json.dumps({"to": message.to, "from": message.sender, "text": message.text})
        request = urllib.request.Request(  # noqa: S310 - the operator's configured gateway
            settings.TELEDERM_SMS_URL,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.TELEDERM_SMS_TOKEN}",
            },
        )
        try:
            # nosec B310: the scheme is checked above (http or https only).
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310  # nosec B310
                if not 200 <= response.status < 300:
                    raise SmsError(f"SMS gateway answered {response.status}")
        except OSError as exc:  # URLError, HTTPError and timeouts
            raise SmsError(f"SMS gateway failed: {exc}") from exc


def is_valid_number(number: str) -> bool:
    """An international (E.164) mobile number such as +4791234567."""
    return bool(E164.match(number))


# Norwegian mobile numbers are 8 digits starting with 4 or 9 (Nkom's numbering plan).
_NORWEGIAN_MOBILE = re.compile(r"^[49][0-9]{7}$")


def normalise_number(raw: str) -> str:
    """A number as people type it, in E.164: spaces, dashes and brackets go, 00 becomes +, and a
    Norwegian mobile number without a country code gets +47. "" if it cannot be a mobile number.
    """
    number = re.sub(r"[\s().-]", "", raw)
    if number.startswith("00"):
        number = "+" + number[2:]
    if _NORWEGIAN_MOBILE.match(number):
        number = "+47" + number
    return number if is_valid_number(number) else ""


def send_sms(*, to: str, text: str) -> None:
    """Send `text` to `to` through the configured gateway; invalid numbers are skipped."""
    if not is_valid_number(to):
        return
    backend: SmsBackend = import_string(settings.TELEDERM_SMS_BACKEND)()
    backend.send(Sms(to=to, sender=settings.TELEDERM_SMS_SENDER, text=text.strip()[:480]))
