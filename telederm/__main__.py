"""The `telederm` command: Django's manage.py under the project's name.

telederm demo      load synthetic demo data (idempotent)
telederm serve     serve on http://127.0.0.1:8000 under uvicorn (ASGI)
telederm worker    run queued side effects (e-mails, messages)
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telederm.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["telederm", *sys.argv[1:]])


if __name__ == "__main__":
    main()
