"""Tell a person by e-mail (and SMS) that something happened, in their own language.

E-mail is not a safe channel for health data: a notification says only that there is news and
where to sign in, never what the case is about.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from telederm.core.sms import send_sms


def email_person(*, to: str, language: str, template: str, context: dict[str, object]) -> None:
    """Render `template` (subject on its first line, body after) in `language` and send it.

    Accounts made from an ID-porten or HelseID sign-in without an e-mail address have a
    placeholder under the reserved `.invalid` domain; nothing is sent to those.
    """
    if to.lower().endswith(".invalid"):
        return
    with translation.override(language):
        text = render_to_string(template, {"base_url": settings.TELEDERM_BASE_URL, **context})
    subject, _, body = text.strip().partition("\n")
    send_mail(subject.strip(), body.strip() + "\n", None, [to])


class Recipient(Protocol):
    """What notifying needs of a person (an accounts User; core imports nothing above it)."""

    email: str
    preferred_language: str
    mobile_number: str


def notify_person(
    *, person: Recipient, template: str, context: dict[str, object], sms: bool = True
) -> None:
    """E-mail `person` with `template` (a .txt path) and, if they have a mobile number, send an SMS
    rendered from the template of the same name ending in `.sms.txt`.
    """
    language = person.preferred_language
    email_person(to=person.email, language=language, template=template, context=context)
    number = person.mobile_number
    if sms and number:
        sms_template = template.removesuffix(".txt") + ".sms.txt"
        with translation.override(language):
            text = render_to_string(
                sms_template, {"base_url": settings.TELEDERM_BASE_URL, **context}
            )
        send_sms(to=number, text=text)
