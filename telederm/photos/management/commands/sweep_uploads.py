"""`telederm sweep_uploads`: remove unfinished tus uploads past their expiry, with their bytes,
and queue again the photos whose processing stalled (a dead worker, a photo store that was down).

Run it every hour or so (cron, a systemd timer); it is safe to run on several nodes at once.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from telederm.photos.services import retry_stalled_photos
from telederm.photos.uploads import sweep_expired_uploads


class Command(BaseCommand):
    help = "Remove unfinished photo uploads past their expiry, and their files."

    def handle(self, *args: Any, **options: Any) -> None:
        removed = sweep_expired_uploads()
        retried = retry_stalled_photos()
        if options["verbosity"] >= 1:
            self.stdout.write(f"Removed {removed} expired upload(s).")
            self.stdout.write(f"Queued {retried} stalled photo(s) for processing again.")
