"""Count a freshly set-up authenticator as this session's second factor."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added
from django.dispatch import receiver
from django.http import HttpRequest

from telederm.accounts.models import User
from telederm.accounts.security import record_second_factor


@receiver(authenticator_added)
def second_factor_set_up(
    sender: object, request: HttpRequest, user: User, authenticator: Authenticator, **_: Any
) -> None:
    # Setting up TOTP or a security key proves the factor (allauth checks a code or a signed
    # challenge first); merely generating recovery codes proves nothing.
    if authenticator.type in {Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN}:
        record_second_factor(request, user, str(authenticator.type))
