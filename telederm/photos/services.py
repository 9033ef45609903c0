"""Lesions and photos of a case: describing a lesion, receiving its photos, processing them, and
opening them for those allowed to see them.

A photo arrives as an upload (tus at /uploads/, or one form post without JavaScript). When the
upload completes, `upload_finished` creates the photo as `pending` and queues `process_photo` in the
same transaction; the worker turns the bytes into clean renditions and quality flags, or refuses
the file with a reason the sender can act on. Every step can be run again without harm.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from telederm.accounts.models import User
from telederm.audit.services import record
from telederm.cases import policies as case_policies
from telederm.cases.models import Case, CaseEvent
from telederm.cases.services import lock_draft, note_draft_change
from telederm.core import clock, outbox
from telederm.core.errors import UserFacingError
from telederm.photos import policies, processing, sites, tasks
from telederm.photos.models import Lesion, Photo, Upload
from telederm.photos.processing import PhotoRejected

SIZES = ("full", "screen", "thumb")
# Upload-Metadata keys kept from a tus client, besides the ones we check.
_KEPT_METADATA = ("filename", "filetype", "name", "type")


class PhotoNotAdded(UserFacingError):
    """The photo was refused; the case is unchanged."""


class PhotoStoreUnavailable(Exception):
    """The photo store did not answer; nothing was read and nothing logged as seen."""


class UploadRefused(UserFacingError):
    """A tus upload may not start: its description is wrong or a limit is reached."""


# ---------------------------------------------------------------------------------------------
# Lesions


@transaction.atomic
def add_lesion(
    *,
    by: User,
    case: Case,
    body_site: str,
    laterality: str,
    label: str = "",
    request: HttpRequest | None = None,
) -> Lesion:
    """Describe a new lesion of the case's patient: where it is, and in the sender's words."""
    if not sites.is_valid(body_site, laterality):
        raise PhotoNotAdded(_("Choose where on the body it is, and which side."))
    case = lock_draft(by=by, case=case)
    lesion = Lesion.objects.create(
        patient=case.patient,
        case=case,
        body_site=body_site,
        laterality=laterality,
        label=label.strip()[:120],
        created_by=by,
    )
    note_draft_change(by=by, case=case, action=CaseEvent.Action.LESION_ADDED)
    record(actor=by, action="lesion.add", patient=case.patient, case=case, request=request)
    return lesion


def lesions_of(case: Case) -> QuerySet[Lesion]:
    """The lesions a case is about: described in it, or photographed again in it."""
    # Two index lookups joined by UNION: an OR across the photo join would read every photo.
    described = Lesion.objects.filter(case=case).values("pk").order_by()
    photographed = (
        Photo.objects.filter(case=case, lesion__isnull=False).values("lesion_id").order_by()
    )
    return Lesion.objects.filter(pk__in=described.union(photographed)).order_by("pk")


def earlier_lesions(*, by: User, case: Case) -> QuerySet[Lesion]:
    """Lesions of the same patient from earlier cases this person may see: a new case can add
    photos of them, so that the dermatologist can compare dates."""
    visible = case_policies.cases_visible_to(by, include_break_glass=False)
    return (
        Lesion.objects.filter(patient_id=case.patient_id, case__in=visible)
        .exclude(pk__in=lesions_of(case).values("pk"))
        .order_by("-created_at")
    )


def _lesion_for(by: User, case: Case, lesion_uuid: str) -> Lesion | None:
    if not lesion_uuid:
        return None
    try:
        wanted = uuid.UUID(lesion_uuid)
    except ValueError:
        raise UploadRefused(_("The lesion of this photo is not known.")) from None
    lesion = Lesion.objects.filter(uuid=wanted, patient_id=case.patient_id).first()
    if lesion is None:
        raise UploadRefused(_("The lesion of this photo is not known."))
    if lesion.case_id != case.pk and not case_policies.can_view_case(by, lesion.case):
        raise UploadRefused(_("The lesion of this photo is not known."))
    return lesion


# ---------------------------------------------------------------------------------------------
# Receiving photos


def authorise_upload(*, by: User, metadata: dict[str, str], length: int) -> dict[str, str]:
    """Check that this person may send this file to this case; the metadata to keep.

    Called when a tus upload is created, before a byte is stored.
    """
    try:
        case_uuid = uuid.UUID(metadata.get("case", ""))
    except ValueError:
        raise UploadRefused(_("Say which case the photo belongs to.")) from None
    case = Case.objects.filter(uuid=case_uuid).select_related("patient").first()
    if case is None or not case_policies.can_view_case(by, case):
        raise Http404
    if not case_policies.can_edit_draft(by, case):
        raise PermissionDenied
    kind = metadata.get("kind") or Photo.Kind.OVERVIEW
    if kind not in Photo.Kind.values:
        raise UploadRefused(_("Choose what kind of photo this is."))
    if length > settings.TELEDERM_PHOTO_MAX_BYTES:
        raise UploadRefused(
            _("The photo is larger than %(mb)d MB. Take it again at a lower resolution.")
            % {"mb": settings.TELEDERM_PHOTO_MAX_BYTES // (1024 * 1024)}
        )
    lesion = _lesion_for(by, case, metadata.get("lesion", ""))
    _check_room(case, extra=_unfinished_uploads_for(case))
    kept = {key: metadata[key][:200] for key in _KEPT_METADATA if metadata.get(key)}
    return {
        **kept,
        "case": str(case.uuid),
        "lesion": str(lesion.uuid) if lesion else "",
        "kind": kind,
    }


def _unfinished_uploads_for(case: Case) -> int:
    return Upload.objects.filter(
        metadata__case=str(case.uuid), completed_at__isnull=True, expires_at__gt=clock.now()
    ).count()


def _check_room(case: Case, *, extra: int = 0) -> None:
    if case.photos.counting().count() + extra >= settings.TELEDERM_PHOTOS_PER_CASE:
        raise PhotoNotAdded(
            _("A case can have at most %(count)d photos.")
            % {"count": settings.TELEDERM_PHOTOS_PER_CASE}
        )


def upload_finished(*, upload: Upload, request: HttpRequest | None = None) -> Photo:
    """The last byte has arrived: make the pending photo and queue its processing.

    Runs inside the transaction that marks the upload complete, so either both happen or neither.
    The same file twice in one case is refused at once, with no processing.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("upload_finished must run in the transaction that completes the upload")
    by = upload.owner
    case = Case.objects.filter(uuid=upload.metadata.get("case")).first()
    if case is None:
        raise PhotoNotAdded(_("The case of this photo no longer exists."))
    case = lock_draft(by=by, case=case)
    lesion = _lesion_for(by, case, upload.metadata.get("lesion", ""))
    duplicate = case.photos.counting().filter(source_sha256=upload.sha256).exists()
    if not duplicate:
        _check_room(case)
    photo = Photo.objects.create(
        case=case,
        lesion=lesion,
        uploaded_by=by,
        kind=upload.metadata.get("kind") or Photo.Kind.OVERVIEW,
        upload=None if duplicate else upload,
        status=Photo.Status.REJECTED if duplicate else Photo.Status.PENDING,
        rejection="duplicate" if duplicate else "",
        source_sha256=upload.sha256,
    )
    if duplicate:
        # Nothing to process: the upload and its bytes go, the refusal stays for the sender.
        upload.delete()
        _discard_upload_after_commit(upload)
        return photo
    note_draft_change(by=by, case=case, action=CaseEvent.Action.PHOTO_ADDED)
    record(
        actor=by, action="photo.add", patient=case.patient, case=case, obj=photo, request=request
    )
    outbox.enqueue(tasks.process_photo, photo_uuid=str(photo.uuid))
    return photo


def add_photo(
    *,
    by: User,
    case: Case,
    upload: BinaryIO,
    kind: str = Photo.Kind.OVERVIEW,
    lesion: Lesion | None = None,
    request: HttpRequest | None = None,
    process_now: bool = False,
) -> Photo:
    """A photo sent whole in one request: the form without JavaScript, and the demo.

    It takes the same road as a tus upload (an Upload, then `upload_finished`); `process_now`
    runs the processing in this process instead of the worker (demo data and tests).
    """
    metadata = authorise_upload(
        by=by,
        metadata={
            "case": str(case.uuid),
            "kind": kind,
            "lesion": str(lesion.uuid) if lesion else "",
        },
        length=0,
    )
    data = upload.read(settings.TELEDERM_PHOTO_MAX_BYTES + 1)
    if len(data) > settings.TELEDERM_PHOTO_MAX_BYTES:
        raise PhotoRejected("too_large")
    if not data:
        raise PhotoRejected("empty")
    received = Upload(
        owner=by,
        metadata=metadata,
        length=len(data),
        offset=len(data),
        expires_at=clock.now() + timedelta(hours=settings.TELEDERM_UPLOAD_EXPIRY_HOURS),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    _write_file(received.path, data)
    try:
        with transaction.atomic():
            received.completed_at = clock.now()
            received.save()
            photo = upload_finished(upload=received, request=request)
    except BaseException:
        received.path.unlink(missing_ok=True)
        raise
    if process_now and photo.is_pending:
        photo = process_photo(photo_uuid=photo.uuid)
    return photo


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@transaction.atomic
def discard_upload(*, by: User, upload: Upload, request: HttpRequest | None = None) -> None:
    """Drop an unfinished upload (tus termination): its row and its bytes."""
    locked = Upload.objects.select_for_update().filter(pk=upload.pk).first()
    if locked is None:
        return
    if locked.owner_id != by.pk:
        raise Http404
    if locked.is_complete:
        raise UploadRefused(_("This upload is complete and can no longer be cancelled."))
    locked.delete()
    _discard_upload_after_commit(locked)


def _discard_upload_after_commit(upload: Upload) -> None:
    path = upload.path
    transaction.on_commit(lambda: path.unlink(missing_ok=True))


# ---------------------------------------------------------------------------------------------
# Processing (the worker)


def thresholds() -> processing.QualityThresholds:
    return processing.QualityThresholds(
        min_focus=settings.TELEDERM_PHOTO_MIN_FOCUS,
        max_clipped=settings.TELEDERM_PHOTO_MAX_CLIPPED,
        min_short_edge=settings.TELEDERM_PHOTO_MIN_SHORT_EDGE,
    )


def process_photo(*, photo_uuid: uuid.UUID | str) -> Photo:
    """Decode, clean and check one pending photo; idempotent.

    The renditions have names fixed by the photo's uuid, so a run that crashed after writing
    files and before committing simply writes them again. A photo no longer pending is left as it
    is. The uploaded bytes are deleted once the result has committed.
    """
    photo = Photo.objects.select_related("upload").get(uuid=photo_uuid)
    if not photo.is_pending:
        return photo
    upload = photo.upload
    try:
        if upload is None or not upload.path.exists():
            raise PhotoRejected("damaged")
        with upload.path.open("rb") as source:
            processed = processing.process_upload(
                source,
                max_bytes=settings.TELEDERM_PHOTO_MAX_BYTES,
                max_pixels=settings.TELEDERM_PHOTO_MAX_PIXELS,
                long_edge=settings.TELEDERM_PHOTO_LONG_EDGE,
                thresholds=thresholds(),
            )
    except PhotoRejected as refusal:
        return _finish(photo, rejection=refusal.code)
    names = _store(photo.uuid, processed)
    return _finish(photo, processed=processed, names=names)


def retry_stalled_photos(*, older_than: timedelta = timedelta(minutes=10)) -> int:
    """Queue processing again for photos pending too long: a worker that died, or a photo store
    that was down when the task ran (the task then failed). Processing is idempotent, so a
    photo queued twice is harmless. How many were queued."""
    stalled = list(
        Photo.objects.filter(
            status=Photo.Status.PENDING, created_at__lt=clock.now() - older_than
        ).values_list("uuid", flat=True)
    )
    with transaction.atomic():
        for photo_uuid in stalled:
            outbox.enqueue(tasks.process_photo, photo_uuid=str(photo_uuid))
    return len(stalled)


@transaction.atomic
def _finish(
    photo: Photo,
    *,
    processed: processing.ProcessedPhoto | None = None,
    names: dict[str, str] | None = None,
    rejection: str = "",
) -> Photo:
    locked = Photo.objects.select_for_update(of=("self",)).select_related("upload").get(pk=photo.pk)
    if not locked.is_pending:
        return locked  # Another worker finished it first; its files are the same as ours.
    if processed is not None and names is not None:
        locked.status = Photo.Status.READY
        locked.full_name = names["full"]
        locked.screen_name = names["screen"]
        locked.thumb_name = names["thumb"]
        locked.width = processed.full.width
        locked.height = processed.full.height
        locked.byte_size = len(processed.full.content)
        locked.sha256 = processed.sha256
        locked.quality_flags = list(processed.quality.flags)
        locked.quality = dict(processed.quality.measures)
    else:
        locked.status = Photo.Status.REJECTED
        locked.rejection = rejection
    locked.processed_at = clock.now()
    upload = locked.upload
    locked.upload = None
    locked.save()
    if upload is not None:
        upload.delete()
        _discard_upload_after_commit(upload)
    return locked


def _rendition_name(photo_uuid: uuid.UUID, size: str) -> str:
    # Names carry no patient data and are not guessable; the files are never served directly.
    return f"photos/{photo_uuid.hex[:2]}/{photo_uuid}-{size}.jpg"


def _store(photo_uuid: uuid.UUID, processed: processing.ProcessedPhoto) -> dict[str, str]:
    names: dict[str, str] = {}
    for rendition in (processed.full, processed.screen, processed.thumb):
        name = _rendition_name(photo_uuid, rendition.name)
        # A rerun overwrites what a crashed run left (file systems would add a suffix instead).
        default_storage.delete(name)
        names[rendition.name] = default_storage.save(name, ContentFile(rendition.content))
    return names


# ---------------------------------------------------------------------------------------------
# Removing and opening


@transaction.atomic
def remove_photo(*, by: User, photo: Photo, request: HttpRequest | None = None) -> None:
    """Take a photo off a draft case; its files go once the removal has committed."""
    case = lock_draft(by=by, case=photo.case)
    names = [photo.storage_name(size) for size in SIZES if photo.storage_name(size)]
    record(
        actor=by, action="photo.remove", patient=case.patient, case=case, obj=photo, request=request
    )
    upload = photo.upload
    photo.delete()
    if upload is not None:
        upload.delete()
        _discard_upload_after_commit(upload)
    note_draft_change(by=by, case=case, action=CaseEvent.Action.PHOTO_REMOVED)
    transaction.on_commit(lambda: _delete_files(names))


def open_photo(
    *,
    by: User,
    case_uuid: uuid.UUID,
    photo_uuid: uuid.UUID,
    size: str,
    request: HttpRequest | None = None,
) -> tuple[Photo, File[bytes]]:
    """The photo's file in one size, if this person may see it; the read is logged."""
    if size not in SIZES:
        raise Http404
    photo = (
        Photo.objects.select_related("case__patient", "lesion")
        .filter(uuid=photo_uuid, case__uuid=case_uuid, status=Photo.Status.READY)
        .first()
    )
    access = policies.photo_access(by, photo) if photo is not None else None
    if photo is None or access is None:
        raise Http404
    handle = _open_rendition(photo.storage_name(size))
    try:
        record(
            actor=by,
            action="photo.view",
            patient=photo.case.patient,
            case=photo.case,
            obj=photo,
            request=request,
            basis=access.basis,
            reason=access.reason,
        )
    except BaseException:
        handle.close()
        raise
    return photo, handle


def read_rendition(photo: Photo, size: str) -> bytes:
    """The bytes of one rendition ("full", ...) of a ready photo, for the system's own use.

    No access is checked and nothing is written to the access log: this is the system composing
    a message (the answer to the GP with its photos), not a person looking at the photo; the
    change that sends the message is what the log records. Never call it to show a photo to a
    person: `open_photo` checks their access and logs the view. Raises PhotoStoreUnavailable
    when the store cannot be read.
    """
    handle = _open_rendition(photo.storage_name(size))
    try:
        return handle.read()
    finally:
        handle.close()


def _open_rendition(name: str) -> File[bytes]:
    # Read before anything is logged or sent: an outage of the store becomes one clear error
    # here, not a half-sent image. With S3 the seek fetches the object (S3File downloads on first
    # use); on a file system it costs nothing.
    try:
        handle = default_storage.open(name, "rb")
        handle.seek(0)
    except FileNotFoundError:
        raise  # A ready photo without its file is a fault to see in the logs, not an outage.
    except (OSError, BotoCoreError, ClientError) as exc:
        raise PhotoStoreUnavailable(name) from exc
    return handle


def lesion_history(*, by: User, case: Case, lesion_uuid: uuid.UUID) -> tuple[Lesion, list[Photo]]:
    """A lesion of this case and all its ready photos this person may see, oldest first.

    The person must be able to open `case` (the caller has opened it); photos of the same lesion
    from the patient's other cases come with them, since comparing dates is the point.
    """
    lesion = lesions_of(case).filter(uuid=lesion_uuid).first()
    if lesion is None:
        raise Http404
    candidates = (
        Photo.objects.ready()
        .filter(lesion=lesion)
        .select_related("case", "lesion")
        .order_by("created_at", "pk")
    )
    # Whether a photo may be seen depends only on its case (the lesion is the same for all).
    seen: dict[int, bool] = {}
    photos = []
    for photo in candidates:
        if photo.case_id not in seen:
            seen[photo.case_id] = policies.photo_access(by, photo) is not None
        if seen[photo.case_id]:
            photos.append(photo)
    return lesion, photos


def _delete_files(names: Iterable[str]) -> None:
    for name in names:
        default_storage.delete(name)
