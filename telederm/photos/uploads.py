"""Resumable uploads' state: their rows, their bytes on disk, limits and expiry (ADR 0013).

`telederm/photos/tus.py` speaks the protocol; this module changes the state, each change in one
transaction. The bytes of an unfinished upload live in `Upload.path` under TELEDERM_UPLOAD_DIR,
and the row's `offset` says how many of them count: a writer first cuts the file back to the
offset, so bytes left by a write that crashed before its commit are never counted.

A chunk arrives spooled (read before any lock is taken) and is appended with the upload's row
locked (`select_for_update`; on SQLite the IMMEDIATE transaction takes the database's write
lock). The lock is held for the offset check, the copy and the update only. When the last byte
arrives the same transaction completes the upload and calls `services.upload_finished`.

Expired unfinished uploads go with their bytes: when a request finds one, or through
`telederm sweep_uploads`. Completed uploads stay until the photo processing removes them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from telederm.accounts.models import User
from telederm.core import clock
from telederm.core.errors import UserFacingError
from telederm.photos import services
from telederm.photos.models import Upload

logger = logging.getLogger(__name__)

COPY_SIZE = 64 * 1024


class TooManyUploads(UserFacingError):
    """The person has as many unfinished uploads as they may."""


class UploadQuotaExceeded(UserFacingError):
    """This upload would take the person's unfinished uploads over their byte limit."""


class UploadComplete(UserFacingError):
    """The upload has all its bytes: nothing more can be added, and it cannot be cancelled."""


class UploadGone(UserFacingError):
    """The upload expired, or its bytes were lost: the client must start again."""


class OffsetConflict(UserFacingError):
    """The client sent bytes for another offset than the upload's."""

    def __init__(self, offset: int, sent: int) -> None:
        super().__init__(
            _("The upload is at byte %(offset)d, not %(sent)d: ask how far it got and go on.")
            % {"offset": offset, "sent": sent}
        )


@dataclass
class Chunk:
    """The bytes of one request body, spooled to a temporary file."""

    file: IO[bytes]
    size: int
    ended_early: bool = False
    """The connection closed before all the announced bytes arrived."""


def upload_dir() -> Path:
    """TELEDERM_UPLOAD_DIR, made if missing; only this process's user may read it."""
    folder = Path(settings.TELEDERM_UPLOAD_DIR)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def check_limits(owner: User, length: int) -> None:
    """Refuse a new upload of `length` bytes if the person's unfinished uploads are at a limit.

    Unfinished, unexpired uploads count; expired ones wait for the sweep but hold nothing back.
    """
    held = Upload.objects.filter(
        owner=owner, completed_at__isnull=True, expires_at__gt=clock.now()
    ).aggregate(count=Count("pk"), bytes=Sum("length"))
    if held["count"] >= settings.TELEDERM_UPLOAD_MAX_ACTIVE:
        raise TooManyUploads(
            _(
                "You have %(count)d unfinished uploads. Let them finish, or cancel some, "
                "before you start another."
            )
            % {"count": held["count"]}
        )
    if (held["bytes"] or 0) + length > settings.TELEDERM_UPLOAD_QUOTA_BYTES:
        raise UploadQuotaExceeded(
            _(
                "Your unfinished uploads would hold more than %(mb)d MB. Let them finish, or "
                "cancel some, before you start another."
            )
            % {"mb": max(1, settings.TELEDERM_UPLOAD_QUOTA_BYTES // (1024 * 1024))}
        )


def create_upload(
    *,
    owner: User,
    metadata: dict[str, str],
    length: int,
    chunk: Chunk | None = None,
    request: HttpRequest | None = None,
) -> Upload:
    """A new upload with its file, holding the first bytes if they came along (and complete if
    they were all of them). The metadata has been through `services.authorise_upload`."""
    created = Upload(
        owner=owner,
        metadata=metadata,
        length=length,
        expires_at=clock.now() + dt.timedelta(hours=settings.TELEDERM_UPLOAD_EXPIRY_HOURS),
    )
    try:
        with transaction.atomic():
            # One person's creations one at a time, so that two at once cannot both pass the
            # limits (SQLite serialises every writer anyway).
            list(User.objects.select_for_update().filter(pk=owner.pk).values_list("pk"))
            check_limits(owner, length)
            created.save()
            _write(created, None)
            if chunk is not None and chunk.size:
                _advance(created, chunk, request)
    except BaseException:
        # Nobody else knows this uuid: its file can go without a lock.
        created.path.unlink(missing_ok=True)
        raise
    finally:
        if chunk is not None:
            chunk.file.close()
    return created


def append_chunk(
    *,
    by: User,
    upload_uuid: uuid.UUID,
    offset: int,
    chunk: Chunk,
    request: HttpRequest | None = None,
) -> Upload:
    """Add a chunk at `offset`, which must still be the upload's offset once its row is locked.

    Two PATCHes of one upload at once (a client retrying while its first request still runs)
    are serialised by the row lock; the second then finds the offset moved: OffsetConflict.
    """
    try:
        with transaction.atomic():
            found = Upload.objects.select_for_update().filter(uuid=upload_uuid, owner=by).first()
            if found is None:
                raise Http404
            check_open(found, expire=False)
            if found.offset != offset:
                raise OffsetConflict(found.offset, offset)
            if chunk.size:
                _advance(found, chunk, request)
            return found
    finally:
        chunk.file.close()


def check_open(found: Upload, *, expire: bool = True) -> None:
    """Refuse bytes for an upload that is complete or expired; an expired one is removed unless
    the caller holds its lock in a transaction that is about to roll back."""
    if found.is_complete:
        raise UploadComplete(_("This upload is complete; nothing more can be added to it."))
    check_not_expired(found, expire=expire)


def check_not_expired(found: Upload, *, expire: bool = True) -> None:
    if not found.is_complete and found.expires_at <= clock.now():
        if expire:
            expire_upload(found)
        raise UploadGone(_("This upload has expired. Start it again."))


def expire_upload(upload: Upload, now: dt.datetime | None = None) -> bool:
    """Remove one unfinished upload past its expiry, row and file; False if it is not (or gone)."""
    moment = now or clock.now()
    with transaction.atomic():
        locked = (
            Upload.objects.select_for_update()
            .filter(pk=upload.pk, completed_at__isnull=True, expires_at__lte=moment)
            .first()
        )
        if locked is None:
            return False
        path = locked.path
        locked.delete()
        # The row first, its bytes once that has committed (a rollback keeps both).
        transaction.on_commit(lambda: path.unlink(missing_ok=True))
    return True


def sweep_expired_uploads(now: dt.datetime | None = None) -> int:
    """Remove every unfinished upload past its expiry, and stray files; how many uploads went.

    A `.part` file that no row names (a process killed between writing the file and committing
    the row) goes once it is older than the expiry. Safe to run on several nodes at once.
    """
    moment = now or clock.now()
    expired = Upload.objects.filter(completed_at__isnull=True, expires_at__lte=moment)
    removed = sum(expire_upload(upload, moment) for upload in expired.only("pk", "uuid"))
    strays = _remove_stray_files(moment)
    if removed or strays:
        logger.info("Removed %d expired uploads and %d stray upload files", removed, strays)
    return removed


def _advance(found: Upload, chunk: Chunk, request: HttpRequest | None) -> None:
    """With the row locked, in the caller's transaction: write, move the offset and, after the
    last byte, complete the upload and make its photo. A failure leaves the file at the offset."""
    start = found.offset
    try:
        _write(found, chunk)
        found.offset = start + chunk.size
        if found.offset < found.length:
            found.save(update_fields=["offset"])
            return
        found.sha256 = _sha256(found.path)
        found.completed_at = clock.now()
        found.save(update_fields=["offset", "sha256", "completed_at"])
        services.upload_finished(upload=found, request=request)
    except BaseException:
        _truncate(found.path, start)
        found.offset, found.sha256, found.completed_at = start, "", None
        raise


def _write(found: Upload, chunk: Chunk | None) -> None:
    """Put the chunk at the upload's offset, after cutting off anything beyond it."""
    upload_dir()
    descriptor = os.open(found.path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "r+b") as file:
        if file.seek(0, os.SEEK_END) < found.offset:
            # Another node without the shared folder, or a folder restored from backup.
            logger.error("Upload %s: fewer bytes on disk than its offset says", found.uuid)
            raise UploadGone(_("The bytes received so far were lost. Start the upload again."))
        file.truncate(found.offset)
        file.seek(found.offset)
        if chunk is not None:
            shutil.copyfileobj(chunk.file, file, COPY_SIZE)
        file.flush()
        # The offset is committed next: the bytes it promises must be on disk first.
        os.fsync(file.fileno())


def _truncate(path: Path, size: int) -> None:
    try:
        with path.open("r+b") as file:
            file.truncate(size)
    except FileNotFoundError:
        pass


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _remove_stray_files(now: dt.datetime) -> int:
    folder = Path(settings.TELEDERM_UPLOAD_DIR)
    if not folder.is_dir():
        return 0
    cutoff = (now - dt.timedelta(hours=settings.TELEDERM_UPLOAD_EXPIRY_HOURS)).timestamp()
    removed = 0
    for path in folder.glob("*.part"):
        try:
            name = uuid.UUID(path.stem)
            old = path.stat().st_mtime < cutoff
        except (ValueError, FileNotFoundError):
            continue
        if old and not Upload.objects.filter(uuid=name).exists():
            path.unlink(missing_ok=True)
            removed += 1
    return removed
