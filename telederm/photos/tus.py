"""The tus 1.0.0 resumable-upload server at /uploads/ (https://tus.io/protocols/resumable-upload).

The core protocol with the creation, creation-with-upload, termination, checksum (sha256, sha1,
md5) and expiration extensions, as two plain Django views (ADR 0013):

- `collection` (`/uploads/`): OPTIONS, and POST to start an upload (its first bytes may come too);
- `upload` (`/uploads/<uuid>`): HEAD to ask how far it got, PATCH to add bytes, DELETE to cancel.

The caller is `request.user`: a browser session (with Django's CSRF check: Uppy sends
X-CSRFToken) or a bearer token (`telederm.api.middleware.BearerTokenMiddleware`). Only the owner
of an upload may see or change it; anyone else gets 404, as for an upload that does not exist.

This module parses and answers; `telederm.photos.uploads` changes the state. A body is read into
a spool file here, before any lock is taken, so that the lock is never held while a phone takes a
minute to send its bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import tempfile
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import http_date
from django.utils.translation import gettext as _

from telederm.accounts.models import User
from telederm.core.errors import UserFacingError
from telederm.photos import services, uploads
from telederm.photos.models import Upload
from telederm.photos.uploads import Chunk

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
CHUNK_TYPE = "application/offset+octet-stream"
# Upload-Checksum algorithms, most preferred first: integrity in transit, not security.
CHECKSUMS: dict[str, Callable[[], Any]] = {
    "sha256": hashlib.sha256,
    "sha1": lambda: hashlib.sha1(usedforsecurity=False),
    "md5": lambda: hashlib.md5(usedforsecurity=False),
}
READ_SIZE = 64 * 1024
# Uppy sends a handful of short keys; anything near this is not a photo's description.
METADATA_MAX_CHARS = 4096
# The checksum extension's status for a chunk whose Upload-Checksum does not match.
CHECKSUM_MISMATCH = 460

# How the refusals of the state layer and the services are answered.
STATUSES: tuple[tuple[type[Exception], int], ...] = (
    (uploads.TooManyUploads, 429),
    # Not 429: waiting does not help (a client may retry a 429 later); the person must act.
    (uploads.UploadQuotaExceeded, 413),
    (uploads.UploadComplete, 403),
    (uploads.UploadGone, 410),
    (uploads.OffsetConflict, 409),
    (UserFacingError, 400),
)


class TusError(Exception):
    """A refusal with its status, a message for the person and any headers."""

    def __init__(self, status: int, message: object, headers: dict[str, str] | None = None):
        super().__init__(str(message))
        self.status = status
        self.message = message
        self.headers = headers or {}


class MetadataError(ValueError):
    """Upload-Metadata that does not follow the tus grammar."""


Handler = Callable[..., HttpResponse]


# ---------------------------------------------------------------------------------------------
# Views


def collection(request: HttpRequest) -> HttpResponse:
    """`/uploads/`: what this server supports (OPTIONS), and a new upload (POST)."""
    handlers: dict[str, Handler] = {"OPTIONS": _options, "POST": _create}
    return _serve(request, handlers)


def upload(request: HttpRequest, upload_uuid: uuid.UUID) -> HttpResponse:
    """`/uploads/<uuid>`: how far it got (HEAD), more bytes (PATCH), cancel (DELETE)."""
    handlers: dict[str, Handler] = {
        "OPTIONS": _options,
        "HEAD": _head,
        "PATCH": _patch,
        "DELETE": _terminate,
    }
    return _serve(request, handlers, upload_uuid)


def _serve(request: HttpRequest, handlers: dict[str, Handler], *args: Any) -> HttpResponse:
    method = request.method or ""
    try:
        handler = handlers.get(method)
        if handler is None:
            raise TusError(
                405, _("This method is not served here."), {"Allow": ", ".join(handlers)}
            )
        if method == "OPTIONS":
            # Discovery needs neither credentials nor Tus-Resumable (core protocol).
            response = handler(request, *args)
        else:
            _check_version(request)
            response = handler(request, _signed_in(request), *args)
    except TusError as error:
        response = _text(error.status, error.message)
        for name, value in error.headers.items():
            response[name] = value
    except Http404:
        response = _text(404, _("There is no such upload."))
    except PermissionDenied:
        response = _text(403, _("You may not add photos to this case."))
    except UserFacingError as error:
        status = next(code for kind, code in STATUSES if isinstance(error, kind))
        response = _text(status, error.message)
    response["Tus-Resumable"] = TUS_VERSION
    if method == "HEAD":
        response.content = b""
    return response


def _options(request: HttpRequest, *args: Any) -> HttpResponse:
    response = HttpResponse(status=204)
    response["Tus-Version"] = TUS_VERSION
    response["Tus-Extension"] = EXTENSIONS
    response["Tus-Max-Size"] = str(settings.TELEDERM_UPLOAD_MAX_BYTES)
    response["Tus-Checksum-Algorithm"] = ",".join(CHECKSUMS)
    return response


def _create(request: HttpRequest, user: User) -> HttpResponse:
    length = _whole_number(request.headers.get("Upload-Length"), "Upload-Length")
    if length is None or length == 0 or "Upload-Defer-Length" in request.headers:
        raise TusError(400, _("Say how large the file is (Upload-Length) when you start."))
    if length > settings.TELEDERM_UPLOAD_MAX_BYTES:
        raise TusError(
            413,
            _("The file is larger than %(mb)d MB.")
            % {"mb": max(1, settings.TELEDERM_UPLOAD_MAX_BYTES // (1024 * 1024))},
        )
    try:
        metadata = parse_metadata(request.headers.get("Upload-Metadata", ""))
    except MetadataError as error:
        raise TusError(400, _("Upload-Metadata is malformed: %(why)s") % {"why": error}) from None
    uploads.check_limits(user, length)
    cleaned = services.authorise_upload(by=user, metadata=metadata, length=length)
    chunk = None
    if request.content_type == CHUNK_TYPE:
        # creation-with-upload: the first bytes come with the request. A body of another type
        # is not a tus chunk and is ignored, as the protocol has it.
        chunk = _receive(request, room=length, checksum=_checksum_header(request))
        if chunk.ended_early:
            chunk.file.close()
            # Nobody holds this upload's address yet: keep nothing, the client starts again.
            raise TusError(400, _("The request ended before all its bytes arrived."))
    created = uploads.create_upload(
        owner=user, metadata=cleaned, length=length, chunk=chunk, request=request
    )
    response = HttpResponse(status=201)
    response["Location"] = request.build_absolute_uri(
        reverse("uploads:upload", args=[created.uuid])
    )
    _progress_headers(response, created)
    return response


def _head(request: HttpRequest, user: User, upload_uuid: uuid.UUID) -> HttpResponse:
    found = _owned(user, upload_uuid)
    uploads.check_not_expired(found)
    response = HttpResponse(status=200)
    _progress_headers(response, found)
    response["Upload-Length"] = str(found.length)
    if found.metadata:
        response["Upload-Metadata"] = encode_metadata(found.metadata)
    response["Cache-Control"] = "no-store"
    return response


def _patch(request: HttpRequest, user: User, upload_uuid: uuid.UUID) -> HttpResponse:
    found = _owned(user, upload_uuid)
    _check_chunk_type(request)
    offset = _whole_number(request.headers.get("Upload-Offset"), "Upload-Offset")
    if offset is None:
        raise TusError(400, _("Say where the bytes go (Upload-Offset)."))
    # Checked now to spare reading a body that is refused anyway; checked again under the lock.
    uploads.check_open(found)
    if offset != found.offset:
        raise uploads.OffsetConflict(found.offset, offset)
    chunk = _receive(request, room=found.length - offset, checksum=_checksum_header(request))
    updated = uploads.append_chunk(
        by=user, upload_uuid=upload_uuid, offset=offset, chunk=chunk, request=request
    )
    response = HttpResponse(status=204)
    _progress_headers(response, updated)
    return response


def _terminate(request: HttpRequest, user: User, upload_uuid: uuid.UUID) -> HttpResponse:
    found = _owned(user, upload_uuid)
    if found.is_complete:
        raise uploads.UploadComplete(_("This upload is complete and can no longer be cancelled."))
    services.discard_upload(by=user, upload=found, request=request)
    return HttpResponse(status=204)


# ---------------------------------------------------------------------------------------------
# Checks and headers


def _check_version(request: HttpRequest) -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise TusError(
            412,
            _("This server speaks tus %(version)s.") % {"version": TUS_VERSION},
            {"Tus-Version": TUS_VERSION},
        )


def _signed_in(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated or not user.is_active:
        raise TusError(
            401, _("Sign in to upload photos."), {"WWW-Authenticate": 'Bearer realm="telederm"'}
        )
    return user


def _owned(user: User, upload_uuid: uuid.UUID) -> Upload:
    # Someone else's upload is answered as one that does not exist: no probing for uploads.
    found = Upload.objects.filter(uuid=upload_uuid, owner=user).first()
    if found is None:
        raise Http404
    return found


def _check_chunk_type(request: HttpRequest) -> None:
    if request.content_type != CHUNK_TYPE:
        raise TusError(415, _("Send the bytes as %(type)s.") % {"type": CHUNK_TYPE})


def parse_metadata(header: str) -> dict[str, str]:
    """Upload-Metadata (`key base64,key,key base64`) as text; a key without a value maps to ""."""
    if not header.strip():
        return {}
    if len(header) > METADATA_MAX_CHARS:
        raise MetadataError(f"longer than {METADATA_MAX_CHARS} characters")
    metadata: dict[str, str] = {}
    for pair in header.split(","):
        key, _space, encoded = pair.strip().partition(" ")
        if not key or not key.isascii() or not key.isprintable():
            raise MetadataError(f"a key must be printable ASCII without spaces, not {key!r}")
        if key in metadata:
            raise MetadataError(f"the key {key!r} is given twice")
        try:
            metadata[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise MetadataError(f"the value of {key!r} is not base64-encoded UTF-8") from None
    return metadata


def encode_metadata(metadata: dict[str, str]) -> str:
    """Upload-Metadata for a HEAD answer: the inverse of `parse_metadata`."""
    return ",".join(
        f"{key} {base64.b64encode(str(value).encode()).decode()}" if value else key
        for key, value in metadata.items()
    )


def _checksum_header(request: HttpRequest) -> tuple[str, bytes] | None:
    header = request.headers.get("Upload-Checksum")
    if header is None:
        return None
    algorithm, _space, encoded = header.strip().partition(" ")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        digest = b""
    if algorithm not in CHECKSUMS or not digest:
        raise TusError(
            400,
            _("Upload-Checksum must name one of %(names)s and give a base64 digest.")
            % {"names": ", ".join(CHECKSUMS)},
        )
    return algorithm, digest


def _whole_number(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit():
        raise TusError(400, _("%(header)s must be a whole number of bytes.") % {"header": name})
    return int(text)


def _content_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META["CONTENT_LENGTH"])
    except (KeyError, ValueError):
        return None


def _progress_headers(response: HttpResponse, found: Upload) -> None:
    response["Upload-Offset"] = str(found.offset)
    if not found.is_complete:
        response["Upload-Expires"] = http_date(found.expires_at.timestamp())


def _text(status: int, message: object) -> HttpResponse:
    return HttpResponse(str(message), status=status, content_type="text/plain; charset=utf-8")


# ---------------------------------------------------------------------------------------------
# The body


def _receive(request: HttpRequest, *, room: int, checksum: tuple[str, bytes] | None) -> Chunk:
    """Read the body in pieces into a spool file. Refuse it if it runs past `room` bytes (413) or
    does not match the Upload-Checksum (460); either way nothing of it is kept.

    A body cut short by a dropped connection is kept as far as it came (the client resumes from
    the new offset), unless a checksum was given: it cannot match, and the chunk is dropped.
    Under ASGI Django reads the whole body before the view runs, so there a dropped connection
    never reaches this code and the client simply sends the chunk again.
    """
    declared = _content_length(request)
    if declared is not None and declared > room:
        raise TusError(413, _("The bytes run past the end of the file."))
    spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed by the uploads module)
        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, dir=str(uploads.upload_dir())
    )
    hasher = CHECKSUMS[checksum[0]]() if checksum else None
    size, ended_early = 0, False
    try:
        while True:
            try:
                data = request.read(READ_SIZE)
            except OSError:  # the connection was reset mid-body (UnreadablePostError is one)
                ended_early = True
                break
            if not data:
                break
            size += len(data)
            if size > room:
                raise TusError(413, _("The bytes run past the end of the file."))
            spool.write(data)
            if hasher is not None:
                hasher.update(data)
        if checksum is not None and (hasher is None or hasher.digest() != checksum[1]):
            raise TusError(
                CHECKSUM_MISMATCH,
                _("The bytes arrived damaged (their checksum does not match); send them again."),
            )
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    ended_early = ended_early or (declared is not None and size < declared)
    return Chunk(file=spool, size=size, ended_early=ended_early)
