"""Photos sent with a secure message on a sent case: a retake the clinic asked for (ADR 0022).

A sent case's photos are frozen; the only way to add one afterwards is with a message from the
patient side while the case is open (not closed or withdrawn), so that the clinic always sees
why a photo arrived and who sent it. The photos take the same road as every other photo: an
`Upload` with its bytes on local disk, a `pending` photo and `process_photo` queued in the same
transaction as the message, then clean renditions or a refusal the sender can act on. They are
the case's photos (`Photo.case`), tied to their message (`Photo.message`) and to a lesion of the
case, and seen under the same photo policy.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from telederm.accounts.models import User
from telederm.audit.services import record
from telederm.cases import messaging
from telederm.cases import policies as case_policies
from telederm.cases.models import Case, CaseEvent, Message
from telederm.core import clock, outbox
from telederm.photos import tasks
from telederm.photos.models import Lesion, Photo, Upload
from telederm.photos.services import PhotoNotAdded, lesions_of

# At most this many photos with one message: a retake is an overview and a close-up or two.
MAX_PER_MESSAGE = 4


def send_message_with_photos(
    *,
    by: User,
    case: Case,
    body: str,
    files: Sequence[IO[bytes]] = (),
    kind: str = Photo.Kind.OVERVIEW,
    lesion_uuid: str = "",
    request: HttpRequest | None = None,
) -> tuple[Message, list[Photo]]:
    """Send a message with photos of one kind and one lesion; the photos are queued for checking.

    The files are read and written to the upload folder first; the message, the photos and their
    processing tasks are then made in one transaction, and the files go again if it fails.
    """
    if files and not case_policies.can_attach_message_photos(by, case):
        raise PermissionDenied
    if len(files) > MAX_PER_MESSAGE:
        raise PhotoNotAdded(
            _("Send at most %(count)d photos with one message.") % {"count": MAX_PER_MESSAGE}
        )
    if kind not in Photo.Kind.values:
        raise PhotoNotAdded(_("Choose what kind of photo this is."))
    received = [_receive(by, case, kind, handle) for handle in files]
    try:
        return _send(
            by=by,
            case=case,
            body=body,
            received=received,
            lesion_uuid=lesion_uuid,
            request=request,
        )
    except BaseException:
        for upload in received:
            upload.path.unlink(missing_ok=True)
        raise


@transaction.atomic
def _send(
    *,
    by: User,
    case: Case,
    body: str,
    received: list[Upload],
    lesion_uuid: str,
    request: HttpRequest | None,
) -> tuple[Message, list[Photo]]:
    # send_message locks the case and checks that this person may write on it now.
    message = messaging.send_message(by=by, case=case, body=body, request=request)
    case = message.case
    if received and not case_policies.can_attach_message_photos(by, case):
        raise PermissionDenied  # the case was closed or withdrawn while the files arrived
    lesion = _lesion(case, lesion_uuid)
    counting = case.photos.counting()
    fresh = {upload.sha256 for upload in received} - set(
        counting.values_list("source_sha256", flat=True)
    )
    if counting.count() + len(fresh) > settings.TELEDERM_PHOTOS_PER_CASE:
        raise PhotoNotAdded(
            _("A case can have at most %(count)d photos.")
            % {"count": settings.TELEDERM_PHOTOS_PER_CASE}
        )
    photos = []
    seen: set[str] = set()
    for upload in received:
        duplicate = upload.sha256 not in fresh or upload.sha256 in seen
        seen.add(upload.sha256)
        if duplicate:
            # The same file as a photo the case already has: refused at once, like a draft's.
            photo = Photo.objects.create(
                case=case,
                lesion=lesion,
                message=message,
                uploaded_by=by,
                kind=upload.metadata["kind"],
                status=Photo.Status.REJECTED,
                rejection="duplicate",
                source_sha256=upload.sha256,
            )
            _unlink_after_commit(upload.path)
        else:
            upload.completed_at = clock.now()
            upload.save()
            photo = Photo.objects.create(
                case=case,
                lesion=lesion,
                message=message,
                uploaded_by=by,
                kind=upload.metadata["kind"],
                upload=upload,
                source_sha256=upload.sha256,
            )
            CaseEvent.objects.create(
                case=case, at=clock.now(), actor=by, action=CaseEvent.Action.PHOTO_ADDED
            )
            record(
                actor=by,
                action="photo.add",
                patient=case.patient,
                case=case,
                obj=photo,
                request=request,
            )
            outbox.enqueue(tasks.process_photo, photo_uuid=str(photo.uuid))
        photos.append(photo)
    return message, photos


def _lesion(case: Case, lesion_uuid: str) -> Lesion | None:
    """The lesion the photos show: one of this case's; none named is fine if the case has none."""
    lesions = lesions_of(case)
    if not lesion_uuid:
        if lesions.count() == 1:
            return lesions.get()
        if not lesions.exists():
            return None
        raise PhotoNotAdded(_("Choose which spot the photos show."))
    try:
        wanted = uuid.UUID(lesion_uuid)
    except ValueError:
        raise PhotoNotAdded(_("Choose which spot the photos show.")) from None
    lesion = lesions.filter(uuid=wanted).first()
    if lesion is None:
        raise PhotoNotAdded(_("Choose which spot the photos show."))
    return lesion


def _receive(by: User, case: Case, kind: str, handle: IO[bytes]) -> Upload:
    """Read one posted file into the upload folder (an unsaved Upload: no row yet)."""
    data = handle.read(settings.TELEDERM_PHOTO_MAX_BYTES + 1)
    if len(data) > settings.TELEDERM_PHOTO_MAX_BYTES:
        raise PhotoNotAdded(
            _("The photo is larger than %(mb)d MB. Take it again at a lower resolution.")
            % {"mb": settings.TELEDERM_PHOTO_MAX_BYTES // (1024 * 1024)}
        )
    if not data:
        raise PhotoNotAdded(_("The file is empty. Choose the photo again."))
    upload = Upload(
        owner=by,
        metadata={"case": str(case.uuid), "kind": kind},
        length=len(data),
        offset=len(data),
        expires_at=clock.now() + timedelta(hours=settings.TELEDERM_UPLOAD_EXPIRY_HOURS),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    _write(upload.path, data)
    return upload


def _unlink_after_commit(path: Path) -> None:
    transaction.on_commit(lambda: path.unlink(missing_ok=True))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
