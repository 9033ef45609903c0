"""Tell a person by e-mail that something happened, in their own language.

E-mail is not a safe channel for health data: a notification says only that there is news and
where to sign in, never what the case is about.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation


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
