"""How strongly a session was signed in, and which people must use a second factor.

Every role but patient works with other people's health data, so Normen's requirement of strong
authentication applies to all of them: a second factor (TOTP, WebAuthn or a recovery code)
through allauth, or a HelseID sign-in at security level 4, which is strong in itself.
"""

from __future__ import annotations

from allauth.account.internal.flows.login import get_authentication_records, record_authentication
from django.http import HttpRequest

from telederm.accounts.models import User

# Identity providers whose sign-in counts as strong authentication (the adapter has already
# refused anything below the required level).
STRONG_PROVIDERS = frozenset({"helseid"})


def needs_second_factor(user: object) -> bool:
    """Whether this visitor is a signed-in person whose role needs two factors (see the model)."""
    return isinstance(user, User) and user.is_authenticated and user.needs_second_factor


def is_strongly_authenticated(request: HttpRequest) -> bool:
    """Whether this session's sign-in included a second factor or a level-4 HelseID sign-in."""
    user = request.user
    if not isinstance(user, User):
        return False
    for step in get_authentication_records(request, user):
        if step.get("method") == "mfa":
            return True
        if step.get("method") == "socialaccount" and step.get("provider") in STRONG_PROVIDERS:
            return True
    return False


def record_second_factor(request: HttpRequest, user: User, kind: str) -> None:
    """Count a second factor the person just proved (for example by activating TOTP)."""
    record_authentication(request, user, "mfa", type=kind)
