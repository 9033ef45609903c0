"""`telederm audit`: look after the access log.

telederm audit verify [--expect-head SEQUENCE:HASH] [--batch N]
    Walk the hash chain in order and stop at the first entry that was changed, is missing before
    another, or links wrongly (ADR 0007). With --expect-head, also compare with a head recorded
    elsewhere earlier, which catches entries removed from the end.
"""

from __future__ import annotations

import re
from argparse import ArgumentTypeError
from collections.abc import Callable, Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from telederm.audit import chain
from telederm.audit.models import AccessEvent

_HEAD = re.compile(r"^#?(?P<sequence>\d+):(?P<hash>[0-9a-fA-F]{64})$")


def expected_head(value: str) -> tuple[int, str]:
    match = _HEAD.match(value.strip())
    if not match or int(match["sequence"]) < 1:
        raise ArgumentTypeError("expected SEQUENCE:HASH, e.g. 1234:<64 hex digits>")
    return int(match["sequence"]), match["hash"].lower()


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ArgumentTypeError("must be at least 1")
    return number


class Command(BaseCommand):
    help = "Look after the access log: `verify` checks its hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(
            dest="subcommand",
            required=True,
            metavar="SUBCOMMAND",
        )
        verify = subcommands.add_parser(
            "verify",
            help="check the hash chain from the first entry to the last",
            description=(
                "Walk the access log in sequence order and stop at the first entry that was "
                "changed, is missing before another, or links wrongly. Exits 1 if one is found."
            ),
        )
        verify.add_argument(
            "--expect-head",
            type=expected_head,
            metavar="SEQUENCE:HASH",
            help="a head recorded earlier (from a previous run's output): also detects entries "
            "removed from the end",
        )
        verify.add_argument(
            "--batch",
            type=positive,
            default=2000,
            help="entries read per query (default 2000)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        handlers: dict[str, Callable[..., None]] = {"verify": self.verify}
        handlers[options["subcommand"]](**options)

    def verify(
        self, *, expect_head: tuple[int, str] | None = None, batch: int = 2000, **_: Any
    ) -> None:
        walk = chain.Walk()
        if expect_head is not None:
            walk.watch(expect_head[0])
        for row in _rows(batch):
            problem = walk.feed(row)
            if problem is not None:
                raise CommandError(str(problem))
        if expect_head is not None:
            problem = walk.check_head(*expect_head)
            if problem is not None:
                raise CommandError(str(problem))
        if walk.head is None:
            self.stdout.write("Access log intact: 0 entries")
            return
        sequence, head_hash = walk.head
        entries = "entry" if walk.count == 1 else "entries"
        self.stdout.write(
            self.style.SUCCESS(
                f"Access log intact: {walk.count} {entries}, head #{sequence} {head_hash}"
            )
        )


def _rows(batch: int) -> Iterator[dict[str, Any]]:
    """The log in sequence order, `batch` rows per query (keyset pages: no long-held cursor)."""
    after = 0
    while True:
        try:
            page = list(
                AccessEvent.objects.filter(sequence__gt=after)
                .order_by("sequence")
                .values("id", *chain.ROW_KEYS)[:batch]
            )
        except (ValueError, TypeError, ValidationError) as error:
            # A value edited outside the application that the database driver cannot even read.
            raise CommandError(
                f"Access log broken after entry #{after}: an entry cannot be read ({error}); "
                "it was edited outside the application"
            ) from error
        yield from page
        if len(page) < batch:
            return
        after = page[-1]["sequence"]
