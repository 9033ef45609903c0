"""The worker processes queued photos through the real task queue."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from conftest import jpeg_bytes
from telederm.cases.models import Case
from telederm.photos import services

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_turns_a_pending_photo_into_a_ready_one(
    make_case: Callable[..., Case],
) -> None:
    case = make_case(photos=0)
    photo = services.add_photo(
        by=case.created_by, case=case, upload=io.BytesIO(jpeg_bytes(size=(1400, 1100)))
    )
    assert photo.is_pending
    call_command("worker", batch=True, interval=0)
    photo.refresh_from_db()
    assert photo.is_ready
    assert photo.width == 1400 and photo.quality
    result = DBTaskResult.objects.get(task_path="telederm.photos.tasks.process_photo")
    assert result.status == "SUCCESSFUL"


def test_a_refused_file_is_a_finished_task_not_a_failed_one(
    make_case: Callable[..., Case],
) -> None:
    case = make_case(photos=0)
    photo = services.add_photo(by=case.created_by, case=case, upload=io.BytesIO(b"GIF89a...."))
    call_command("worker", batch=True, interval=0)
    photo.refresh_from_db()
    assert photo.is_rejected and photo.rejection
    processed = DBTaskResult.objects.get(task_path="telederm.photos.tasks.process_photo")
    assert processed.status == "SUCCESSFUL"


def test_a_stalled_photo_is_queued_again_by_the_sweep(make_case: Callable[..., Case]) -> None:
    import datetime as dt

    from telederm.core import clock

    case = make_case(photos=0)
    with clock.frozen_at(clock.now() - dt.timedelta(hours=1)):
        photo = services.add_photo(by=case.created_by, case=case, upload=io.BytesIO(jpeg_bytes()))
    DBTaskResult.objects.all().delete()  # the first run was lost with its worker
    output = io.StringIO()
    call_command("sweep_uploads", stdout=output)
    assert "Queued 1 stalled photo" in output.getvalue()
    call_command("worker", batch=True, interval=0)
    photo.refresh_from_db()
    assert photo.is_ready
