"""`telederm token`: API tokens for programs (ADR 0011, runbook docs/runbooks/api-tokens.md).

telederm token create --user EMAIL --scope SCOPE [--scope SCOPE ...] [--expires DAYS] [--label TEXT]
    Make a token and print it once: only its hash is kept. Scopes follow SMART on FHIR
    (`patient/*.read`, `user/ServiceRequest.rs`, `system/*.read`); patient/ scopes are for
    patients' own tokens, system/ scopes for operators'.
telederm token revoke PREFIX
    Stop a token from now on; takes the prefix (`tdm_<prefix>`) or the whole token.
telederm token list [--user EMAIL]
    Tokens with their owner, scopes and dates; never a secret.
"""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentTypeError
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from telederm.accounts.models import User
from telederm.api import tokens
from telederm.api.models import ApiToken


def positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a whole number of days") from None
    if number < 1:
        raise ArgumentTypeError("must be at least 1 day")
    return number


class Command(BaseCommand):
    help = "API tokens for programs: `create` (printed once), `revoke`, `list`."

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        create = subcommands.add_parser(
            "create",
            help="make a token and print it once",
            description=(
                "Make an API token for a person and print it once; only its SHA-256 is kept. "
                "patient/ scopes are for patients, system/ scopes for operators, user/ for anyone."
            ),
        )
        create.add_argument("--user", required=True, metavar="EMAIL", help="the token's owner")
        create.add_argument(
            "--scope",
            required=True,
            action="append",
            dest="scopes",
            metavar="SCOPE",
            help="a SMART on FHIR scope, e.g. user/*.read or patient/ServiceRequest.rs; repeat "
            "for more",
        )
        create.add_argument(
            "--expires", type=positive, metavar="DAYS", help="valid for this many days"
        )
        create.add_argument("--label", default="", help="what the token is for, shown in lists")

        revoke = subcommands.add_parser("revoke", help="stop a token from now on")
        revoke.add_argument("token", metavar="PREFIX", help="the token's prefix, or the token")

        listing = subcommands.add_parser("list", help="list tokens (never their secrets)")
        listing.add_argument("--user", metavar="EMAIL", help="only this person's tokens")

    def handle(self, *args: Any, **options: Any) -> None:
        handlers: dict[str, Callable[..., None]] = {
            "create": self.create_token,
            "revoke": self.revoke_token,
            "list": self.list_tokens,
        }
        handlers[options["subcommand"]](**options)

    def create_token(
        self,
        *,
        user: str,
        scopes: list[str],
        expires: int | None = None,
        label: str = "",
        **_: Any,
    ) -> None:
        owner = _user(user)
        try:
            token, plain = tokens.issue_token(
                user=owner, scopes=scopes, expires_days=expires, label=label
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        expiry = _when(token.expires_at) if token.expires_at else "never"
        self.stdout.write(
            f"API token {token.prefix} for {owner.email} ({owner.role}), "
            f"scopes {' '.join(token.scopes)}, expires {expiry}:"
        )
        self.stdout.write(plain)
        self.stdout.write(
            self.style.WARNING(
                "Store this token now: it is shown only this once and cannot be recovered."
            )
        )

    def revoke_token(self, *, token: str, **_: Any) -> None:
        found = tokens.find_token(token)
        if found is None:
            # Never echo what was given: it may be a whole token.
            raise CommandError(
                "no API token with that prefix; give the 12-hex-digit prefix (telederm token "
                "list shows them) or the whole token"
            )
        if tokens.revoke_token(found):
            self.stdout.write(
                self.style.SUCCESS(f"API token {found.prefix} of {found.user.email} revoked")
            )
        else:
            assert found.revoked_at is not None
            self.stdout.write(
                f"API token {found.prefix} was already revoked at {_when(found.revoked_at)}"
            )

    def list_tokens(self, *, user: str | None = None, **_: Any) -> None:
        rows = ApiToken.objects.select_related("user").order_by("-created_at", "-pk")
        if user is not None:
            rows = rows.filter(user=_user(user))
        header = ("PREFIX", "USER", "SCOPES", "CREATED", "EXPIRES", "LAST USED", "REVOKED", "LABEL")
        table = [header] + [
            (
                row.prefix,
                row.user.email,
                " ".join(row.scopes),
                _when(row.created_at),
                _when(row.expires_at) if row.expires_at else "never",
                _when(row.last_used_at) if row.last_used_at else "never",
                _when(row.revoked_at) if row.revoked_at else "no",
                row.label,
            )
            for row in rows
        ]
        widths = [max(len(line[column]) for line in table) for column in range(len(header))]
        for line in table:
            self.stdout.write(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(line, widths, strict=True)
                ).rstrip()
            )
        if len(table) == 1:
            self.stdout.write("No API tokens.")


def _user(email: str) -> User:
    owner = User.objects.filter(email__iexact=email.strip()).first()
    if owner is None:
        raise CommandError(f"no user with the e-mail address {email.strip()!r}")
    return owner


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")
