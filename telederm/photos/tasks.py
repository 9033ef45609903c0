"""Photo processing, run by `telederm worker`; safe to run twice for the same photo."""

from __future__ import annotations

from django_tasks import task


@task()
def process_photo(photo_uuid: str) -> None:
    """Turn an uploaded file into clean renditions and quality flags, or refuse it."""
    from telederm.photos import services  # services queues this task: import at run time

    services.process_photo(photo_uuid=photo_uuid)
