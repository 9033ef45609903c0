"""`telederm triage`: the symptom checker's rules from the command line.

telederm triage assess FILE.json [--language en|nb] [--rules RULES.toml]
    Read one answer document (docs/triage-assess.md; `-` reads standard input), apply the rules
    and print the result as JSON on standard output. Invalid answers or rules: the problems go to
    standard error, nothing to standard output, and the exit status is 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from telederm.triage import engine

INVALID = 2


class Command(BaseCommand):
    help = "The symptom checker's rules: `assess` judges one answer document."
    # Tests pass a text stream as `stdin` through call_command.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        assess = subcommands.add_parser(
            "assess",
            help="print the disposition, priority, flags and reasons for one answer document",
            description=(
                "Apply the symptom checker's rules to a JSON answer document (docs/"
                "triage-assess.md) and print the result as JSON. Exits 2 on invalid input."
            ),
        )
        assess.add_argument("file", metavar="FILE.json", help="the answers; - for standard input")
        assess.add_argument(
            "--language",
            choices=engine.LANGUAGES,
            default="en",
            help="language of the reason texts (default en)",
        )
        assess.add_argument(
            "--rules",
            type=Path,
            default=None,
            metavar="RULES.toml",
            help="judge with this rule file instead of the shipped one (to try a change)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stdin: IO[str] = options.get("stdin") or sys.stdin
        try:
            data = _read(options["file"], stdin)
            rules = engine.load_rules(options["rules"]) if options["rules"] else None
            result = engine.assess(data, rules)
        except (engine.InvalidAnswers, engine.InvalidRules) as exc:
            raise CommandError(str(exc), returncode=INVALID) from exc
        self.stdout.write(
            json.dumps(result.as_dict(options["language"]), indent=2, ensure_ascii=False)
        )


def _read(name: str, stdin: IO[str]) -> object:
    try:
        text = stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {name}: {exc}", returncode=INVALID) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{name} is not valid JSON: {exc}", returncode=INVALID) from exc
