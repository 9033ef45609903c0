"""Adding, removing and opening the photos of a case."""

from __future__ import annotations

import uuid
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from telederm.accounts.models import User
from telederm.audit.services import record
from telederm.cases import policies as case_policies
from telederm.cases.access import access_for_log
from telederm.cases.models import Case, CaseEvent
from telederm.cases.services import lock_draft, note_draft_change
from telederm.core.errors import UserFacingError
from telederm.photos.models import Photo
from telederm.photos.processing import ProcessedPhoto, process_upload

SIZES = ("full", "screen", "thumb")


class PhotoNotAdded(UserFacingError):
    """The photo was refused; the case is unchanged."""


def add_photo(
    *,
    by: User,
    case: Case,
    upload: BinaryIO,
    view: str = Photo.Kind.OVERVIEW,
    request: HttpRequest | None = None,
) -> Photo:
    """Clean an uploaded photo and attach it to a draft case.

    The decoding runs before the transaction (it is slow and touches no rows); the files are
    written under fresh names and removed again if the database refuses the row, so a failed
    upload leaves neither a row nor a file behind.
    """
    if not case_policies.can_edit_draft(by, case):
        raise PermissionDenied
    processed = process_upload(
        upload,
        max_bytes=settings.TELEDERM_PHOTO_MAX_BYTES,
        max_pixels=settings.TELEDERM_PHOTO_MAX_PIXELS,
        long_edge=settings.TELEDERM_PHOTO_LONG_EDGE,
    )
    photo_uuid = uuid.uuid4()
    names = _store(photo_uuid, processed)
    try:
        return _attach(
            by=by,
            case=case,
            photo_uuid=photo_uuid,
            processed=processed,
            names=names,
            view=view,
            request=request,
        )
    except BaseException:
        for name in names.values():
            default_storage.delete(name)
        raise


@transaction.atomic
def _attach(
    *,
    by: User,
    case: Case,
    photo_uuid: uuid.UUID,
    processed: ProcessedPhoto,
    names: dict[str, str],
    view: str,
    request: HttpRequest | None,
) -> Photo:
    case = lock_draft(by=by, case=case)
    if case.photos.count() >= settings.TELEDERM_PHOTOS_PER_CASE:
        raise PhotoNotAdded(
            _("A case can have at most %(count)d photos.")
            % {"count": settings.TELEDERM_PHOTOS_PER_CASE}
        )
    if case.photos.filter(sha256=processed.sha256).exists():
        raise PhotoNotAdded(_("This photo is already in the case."))
    photo = Photo.objects.create(
        uuid=photo_uuid,
        case=case,
        uploaded_by=by,
        view=view,
        full_name=names["full"],
        screen_name=names["screen"],
        thumb_name=names["thumb"],
        width=processed.full.width,
        height=processed.full.height,
        byte_size=len(processed.full.content),
        sha256=processed.sha256,
    )
    note_draft_change(by=by, case=case, action=CaseEvent.Action.PHOTO_ADDED)
    record(
        actor=by, action="photo.add", patient=case.patient, case=case, obj=photo, request=request
    )
    return photo


@transaction.atomic
def remove_photo(*, by: User, photo: Photo, request: HttpRequest | None = None) -> None:
    """Take a photo off a draft case; its files go once the removal has committed."""
    case = lock_draft(by=by, case=photo.case)
    names = [photo.storage_name(size) for size in SIZES]
    record(
        actor=by, action="photo.remove", patient=case.patient, case=case, obj=photo, request=request
    )
    photo.delete()
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
    """The photo's file in one size, if this person may see its case; the read is logged."""
    if size not in SIZES:
        raise Http404
    photo = (
        Photo.objects.select_related("case__patient")
        .filter(uuid=photo_uuid, case__uuid=case_uuid)
        .first()
    )
    access = access_for_log(by, photo.case) if photo is not None else None
    if photo is None or access is None:
        raise Http404
    record(
        actor=by,
        action="photo.view",
        patient=photo.case.patient,
        case=photo.case,
        obj=photo,
        request=request,
        basis=access[0],
        reason=access[1],
    )
    return photo, default_storage.open(photo.storage_name(size), "rb")


def _delete_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def _store(photo_uuid: uuid.UUID, processed: ProcessedPhoto) -> dict[str, str]:
    # Names carry no patient data and are not guessable; the files are never served directly.
    names: dict[str, str] = {}
    try:
        for rendition in (processed.full, processed.screen, processed.thumb):
            name = f"photos/{photo_uuid.hex[:2]}/{photo_uuid}-{rendition.name}.jpg"
            names[rendition.name] = default_storage.save(name, ContentFile(rendition.content))
    except BaseException:
        for name in names.values():
            default_storage.delete(name)
        raise
    return names
