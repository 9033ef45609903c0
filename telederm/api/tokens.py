"""Issue, find, check and revoke API tokens (ADR 0011).

A token reads `tdm_<prefix>_<secret>`: `tdm_` marks it as Telederm's (so secret scanners and people
recognise a leaked one), the prefix is 12 hex digits that find its row, and the secret is 32 bytes
from `secrets`, base64url-encoded. The database keeps only the secret's SHA-256, compared with
`hmac.compare_digest`; 256 random bits need no slow hash.

Who may hold which scopes:

- `patient/...` only a person with the patient role: the patient in context is that person;
- `system/...` only an operator: system scopes are for back-end services run by the operator;
- `user/...` anyone: the scope never widens what the person may see (cases.policies decides).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable

from django.db import IntegrityError, transaction

from telederm.accounts.models import User
from telederm.api.models import ApiToken
from telederm.api.scopes import Scope, ScopeError, parse_scope, parse_scopes
from telederm.core import clock

logger = logging.getLogger(__name__)

MARKER = "tdm"
PREFIX_BYTES = 6
SECRET_BYTES = 32
# Tokens are marked used at most this often: a busy program does not write on every request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
LABEL_MAX = 100

_TOKEN = re.compile(
    rf"{MARKER}_(?P<prefix>[0-9a-f]{{{2 * PREFIX_BYTES}}})_(?P<secret>[A-Za-z0-9_-]{{43,128}})"
)
_PREFIX = re.compile(rf"(?:{MARKER}_)?(?P<prefix>[0-9a-f]{{{2 * PREFIX_BYTES}}})(?:_.*)?", re.S)
# Compared against when no token has the presented prefix, so both paths do the same work.
_NO_SUCH_TOKEN = "0" * 64

# Which contexts each role may hold; `user` is open to everyone.
_CONTEXT_ROLES = {
    "patient": frozenset({User.Role.PATIENT}),
    "system": frozenset({User.Role.OPERATOR}),
}


class TokenError(ValueError):
    """A token cannot be issued as asked; the message says why."""


def issue_token(
    *,
    user: User,
    scopes: Iterable[str],
    expires_days: int | None = None,
    label: str = "",
) -> tuple[ApiToken, str]:
    """Make a token for `user` and return it with its plain text, which exists only here.

    Raises TokenError (or ScopeError, also a ValueError) when a scope is malformed or not one this
    person's role may hold, the person is deactivated, or the expiry is not a positive number.
    """
    parsed = parse_scopes(scopes)
    if not parsed:
        raise TokenError("a token needs at least one scope, e.g. user/*.read")
    check_scopes_for(user, parsed)
    if not user.is_active:
        raise TokenError(f"user {user.email} is deactivated")
    if expires_days is not None and expires_days < 1:
        raise TokenError(f"expiry must be at least one day, not {expires_days}")
    label = label.strip()
    if len(label) > LABEL_MAX:
        raise TokenError(f"the label is longer than {LABEL_MAX} characters")

    now = clock.now()
    secret = secrets.token_urlsafe(SECRET_BYTES)
    for attempt in range(5):
        prefix = secrets.token_hex(PREFIX_BYTES)
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user,
                    label=label,
                    prefix=prefix,
                    sha256=_digest(secret),
                    scopes=[scope.text for scope in parsed],
                    created_at=now,
                    expires_at=now + dt.timedelta(days=expires_days) if expires_days else None,
                )
            break
        except IntegrityError:
            # Two tokens drew the same 48-bit prefix: draw again.
            if attempt == 4:
                raise
    logger.info(
        "API token %s issued to user %s (%s) with scopes %s, expires %s",
        token.prefix,
        user.uuid,
        user.role,
        " ".join(token.scopes),
        token.expires_at.isoformat() if token.expires_at else "never",
    )
    return token, f"{MARKER}_{prefix}_{secret}"


def check_scopes_for(user: User, scopes: Iterable[Scope]) -> None:
    """Raise TokenError if a scope's context is not one this person's role may hold."""
    for scope in scopes:
        roles = _CONTEXT_ROLES.get(scope.context)
        if roles is not None and user.role not in roles:
            allowed = " or ".join(sorted(roles))
            raise TokenError(
                f"scope {scope.text!r}: {scope.context}/ scopes are only for users with the "
                f"{allowed} role, and {user.email} is {user.role}"
            )


def bearer_credentials(header_value: str | None) -> str | None:
    """The token from an `Authorization: Bearer <token>` header, or None if there is none."""
    if not header_value:
        return None
    scheme, _, credentials = header_value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None


def authenticate(header_value: str | None) -> ApiToken | None:
    """The token an `Authorization` header presents, if it is valid, in force and its owner active.

    Marks the token used (at most once a minute). Returns None for anything else, without saying
    why: the caller answers every failure the same way.
    """
    presented = bearer_credentials(header_value)
    match = _TOKEN.fullmatch(presented) if presented else None
    if match is None:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=match["prefix"]).first()
    stored = token.sha256 if token is not None else _NO_SUCH_TOKEN
    if not hmac.compare_digest(_digest(match["secret"]), stored) or token is None:
        return None
    now = clock.now()
    if not token.is_usable(now):
        return None
    _mark_used(token, now)
    return token


def find_token(prefix_or_token: str) -> ApiToken | None:
    """The token named by its prefix (`3f9a...`, `tdm_3f9a...`) or by the whole token."""
    match = _PREFIX.fullmatch(prefix_or_token.strip())
    if match is None:
        return None
    return ApiToken.objects.select_related("user").filter(prefix=match["prefix"]).first()


def revoke_token(token: ApiToken) -> bool:
    """Revoke a token from now on. False if it was revoked already (nothing changes)."""
    now = clock.now()
    changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    token.refresh_from_db(fields=["revoked_at"])
    if changed:
        logger.info("API token %s of user %s revoked", token.prefix, token.user.uuid)
    return bool(changed)


def scopes_of(token: ApiToken) -> tuple[Scope, ...]:
    """The token's scopes, parsed. A stored scope that no longer parses grants nothing."""
    parsed = []
    for text in token.scopes if isinstance(token.scopes, list) else []:
        try:
            parsed.append(parse_scope(text))
        except ScopeError:
            logger.warning("API token %s holds an unreadable scope; ignored", token.prefix)
    return tuple(parsed)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _mark_used(token: ApiToken, now: dt.datetime) -> None:
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
