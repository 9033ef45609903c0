"""`telederm addresses`: the address register (docs/addresses-import.md).

telederm addresses import FILE [--replace]
    Import register entries from a CSV or JSON file (UTF-8), all or nothing, matched by HER-id.
    Every problem is reported with its line and nothing is changed if there is one. --replace
    deactivates the entries the file does not have.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from telederm.interop import addresses


class Command(BaseCommand):
    help = "The address register: `import FILE [--replace]` (CSV or JSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        load = subcommands.add_parser(
            "import",
            help="import register entries from a CSV or JSON file",
            description=(
                "Import address register entries from a CSV (header: "
                f"{','.join(addresses.COLUMNS)}; accepts separated by ';') or JSON file (a list "
                "of objects with the same keys). All rows or none; matched by HER-id."
            ),
        )
        load.add_argument("file", type=Path, metavar="FILE")
        load.add_argument(
            "--replace",
            action="store_true",
            help="deactivate the entries that are not in the file",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        try:
            result = addresses.import_file(path, replace=options["replace"])
        except addresses.InvalidAddressFile as exc:
            for problem in exc.problems:
                self.stderr.write(f"{path.name}: {problem}")
            raise CommandError(
                f"{len(exc.problems)} problem(s) in {path.name}; nothing was imported"
            ) from None
        self.stdout.write(
            f"{path.name}: {result.created} new, {result.updated} updated, "
            f"{result.deactivated} deactivated"
        )
