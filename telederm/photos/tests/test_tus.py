"""The tus 1.0.0 server at /uploads/, through Django's test client: every status it answers with.

The bearer-token side is in telederm/api/tests/test_middleware.py, a real tus client against the
live server in tests/test_tus_client.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import uuid
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.http import Http404
from django.test import Client
from django_tasks_db.models import DBTaskResult

from conftest import jpeg_bytes, sign_in
from telederm.accounts.models import User
from telederm.cases.models import Case
from telederm.core import clock
from telederm.photos import services, tus
from telederm.photos.models import Photo, Upload
from telederm.photos.uploads import sweep_expired_uploads

CHUNK = "application/offset+octet-stream"
NOT_UTF8 = base64.b64encode(bytes([0xFF, 0xFE])).decode()
VERSION = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def checksum(algorithm: str, data: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


class Tus:
    """A tus client over Django's test client; every answer must carry Tus-Resumable."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _check(self, response: Any) -> Any:
        assert response["Tus-Resumable"] == "1.0.0", response.status_code
        return response

    def start(self, case: Case, length: int, body: bytes | None = None, **headers: str) -> Any:
        extra = {
            **VERSION,
            "HTTP_UPLOAD_LENGTH": str(length),
            "HTTP_UPLOAD_METADATA": f"case {b64(str(case.uuid))},kind {b64('overview')},"
            f"filename {b64('føflekk.jpg')},lesion",
            **headers,
        }
        if body is None:
            return self._check(self.client.generic("POST", "/uploads/", **extra))
        return self._check(self.client.post("/uploads/", body, content_type=CHUNK, **extra))

    def send(
        self, location: str, offset: int, data: bytes, content_type: str = CHUNK, **headers: str
    ) -> Any:
        # Django's test client leaves the type out of an empty body; a tus client always sends it.
        extra = {**VERSION, "HTTP_UPLOAD_OFFSET": str(offset), "CONTENT_TYPE": content_type}
        extra.update(headers)
        return self._check(self.client.patch(location, data, content_type=content_type, **extra))

    def head(self, location: str, **headers: str) -> Any:
        return self._check(self.client.head(location, **{**VERSION, **headers}))

    def delete(self, location: str, **headers: str) -> Any:
        return self._check(self.client.delete(location, **{**VERSION, **headers}))


@pytest.fixture
def draft(make_case: Callable[..., Case]) -> Case:
    return make_case(photos=0)


@pytest.fixture
def kari(patient_user: User) -> Tus:
    return Tus(sign_in(Client(), patient_user))


@pytest.fixture
def photo_bytes() -> bytes:
    return jpeg_bytes(size=(1200, 1000), colour=(180, 120, 90))


def started(kari: Tus, draft: Case, length: int) -> tuple[str, Upload]:
    response = kari.start(draft, length)
    assert response.status_code == 201, response.content
    return response["Location"], Upload.objects.get()


def on_disk(upload: Upload) -> bytes:
    return Path(upload.path).read_bytes()


# Discovery and version --------------------------------------------------------------------------


def test_options_advertise_version_extensions_size_and_checksums(settings: Any) -> None:
    settings.TELEDERM_UPLOAD_MAX_BYTES = 12345
    for path in ("/uploads/", f"/uploads/{uuid.uuid4()}"):
        response = Client().options(path)
        assert response.status_code == 204
        assert response["Tus-Resumable"] == "1.0.0"
        assert response["Tus-Version"] == "1.0.0"
        assert response["Tus-Max-Size"] == "12345"
        assert set(response["Tus-Extension"].split(",")) == {
            "creation",
            "creation-with-upload",
            "termination",
            "checksum",
            "expiration",
        }
        assert {"sha1", "sha256", "md5"} <= set(response["Tus-Checksum-Algorithm"].split(","))


@pytest.mark.parametrize("version", [None, "0.2.2", "1.0", "2.0.0"])
def test_another_tus_version_gets_412_with_the_version_spoken(
    version: str | None, kari: Tus, draft: Case
) -> None:
    headers = {"HTTP_TUS_RESUMABLE": version} if version else {}
    response = kari.client.post("/uploads/", HTTP_UPLOAD_LENGTH="10", **headers)
    assert response.status_code == 412
    assert response["Tus-Version"] == "1.0.0" and response["Tus-Resumable"] == "1.0.0"
    assert not Upload.objects.exists()


def test_other_methods_get_405_with_the_allowed_ones(kari: Tus) -> None:
    response = kari.client.get("/uploads/", **VERSION)
    assert response.status_code == 405
    assert response["Allow"] == "OPTIONS, POST"
    response = kari.client.put(f"/uploads/{uuid.uuid4()}", **VERSION)
    assert response.status_code == 405
    assert set(response["Allow"].split(", ")) == {"OPTIONS", "HEAD", "PATCH", "DELETE"}


@pytest.mark.parametrize("method", ["post", "head", "patch", "delete"])
def test_an_anonymous_request_gets_401(method: str, db: None) -> None:
    path = "/uploads/" if method == "post" else f"/uploads/{uuid.uuid4()}"
    response = getattr(Client(), method)(path, HTTP_UPLOAD_LENGTH="10", **VERSION)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["Tus-Resumable"] == "1.0.0"


# Creation ---------------------------------------------------------------------------------------


def test_creation_answers_with_an_absolute_location_and_the_expiry(
    kari: Tus, draft: Case, patient_user: User, settings: Any
) -> None:
    settings.TELEDERM_UPLOAD_EXPIRY_HOURS = 24
    before = clock.now()
    response = kari.start(draft, 5000)
    assert response.status_code == 201
    upload = Upload.objects.get()
    assert response["Location"] == f"http://testserver/uploads/{upload.uuid}"
    assert response["Upload-Offset"] == "0"
    expires = parsedate_to_datetime(response["Upload-Expires"])
    assert expires.tzinfo is not None
    assert abs(expires - (before + dt.timedelta(hours=24))) < dt.timedelta(seconds=5)
    assert upload.owner == patient_user and upload.length == 5000 and upload.offset == 0
    assert upload.metadata["case"] == str(draft.uuid)
    assert upload.metadata["filename"] == "føflekk.jpg"
    assert upload.path.exists() and upload.path.stat().st_size == 0
    assert upload.path.stat().st_mode & 0o077 == 0, "only the server's user may read the bytes"

    head = kari.head(response["Location"])
    assert head.status_code == 200
    assert head["Upload-Offset"] == "0" and head["Upload-Length"] == "5000"
    assert head["Cache-Control"] == "no-store"
    assert head["Upload-Expires"] == response["Upload-Expires"]
    assert tus.parse_metadata(head["Upload-Metadata"])["filename"] == "føflekk.jpg"
    assert head.content == b""


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_UPLOAD_LENGTH": "many"},
        {"HTTP_UPLOAD_LENGTH": "-5"},
        {"HTTP_UPLOAD_LENGTH": "0"},
        {"HTTP_UPLOAD_DEFER_LENGTH": "1"},
        {"HTTP_UPLOAD_LENGTH": "100", "HTTP_UPLOAD_DEFER_LENGTH": "1"},
    ],
)
def test_creation_needs_the_length(headers: dict[str, str], kari: Tus, draft: Case) -> None:
    extra = {**VERSION, "HTTP_UPLOAD_METADATA": f"case {b64(str(draft.uuid))}", **headers}
    response = kari.client.post("/uploads/", **extra)
    assert response.status_code == 400
    assert not Upload.objects.exists()


def test_a_file_over_the_size_limit_gets_413(kari: Tus, draft: Case, settings: Any) -> None:
    settings.TELEDERM_UPLOAD_MAX_BYTES = 2 * 1024 * 1024
    assert kari.start(draft, 2 * 1024 * 1024 + 1).status_code == 413
    assert "2 MB" in kari.start(draft, 2 * 1024 * 1024 + 1).content.decode()
    assert kari.start(draft, 2 * 1024 * 1024).status_code == 201


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", {}),
        (f"filename {b64('a.jpg')}", {"filename": "a.jpg"}),
        (
            f"case {b64('x')}, lesion,kind {b64('close_up')}",
            {"case": "x", "lesion": "", "kind": "close_up"},
        ),
        (f"name {b64('Kåre æøå')}", {"name": "Kåre æøå"}),
        ("lesion ", {"lesion": ""}),
    ],
)
def test_metadata_is_parsed(header: str, expected: dict[str, str]) -> None:
    assert tus.parse_metadata(header) == expected
    if expected:
        assert tus.parse_metadata(tus.encode_metadata(expected)) == expected


@pytest.mark.parametrize(
    "header",
    [
        "filename not*base64",
        f"filename {b64('a')},filename {b64('b')}",
        f",filename {b64('a')}",
        f"filename {NOT_UTF8}",
        f"nøkkel {b64('a')}",
        "a," * 3000,
    ],
)
def test_malformed_metadata_is_refused(header: str, kari: Tus, draft: Case) -> None:
    with pytest.raises(tus.MetadataError):
        tus.parse_metadata(header)
    response = kari.client.post(
        "/uploads/", HTTP_UPLOAD_LENGTH="10", HTTP_UPLOAD_METADATA=header, **VERSION
    )
    assert response.status_code == 400
    assert response.content.startswith(b"Upload-Metadata is malformed")


def test_an_upload_for_someone_elses_case_gets_404(
    make_case: Callable[..., Case], other_patient_user: User, kari: Tus
) -> None:
    theirs = make_case(by=other_patient_user, patient=other_patient_user.patient, photos=0)
    assert kari.start(theirs, 100).status_code == 404
    assert not Upload.objects.exists()


@pytest.mark.parametrize(
    ("refusal", "status", "text"),
    [
        (PermissionDenied, 403, "You may not add photos to this case."),
        (Http404, 404, "There is no such upload."),
        (services.UploadRefused("Choose what kind of photo this is."), 400, "Choose what kind"),
    ],
)
def test_the_services_refusals_become_statuses(
    refusal: Exception | type[Exception],
    status: int,
    text: str,
    kari: Tus,
    draft: Case,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(**kwargs: Any) -> dict[str, str]:
        raise refusal

    monkeypatch.setattr(services, "authorise_upload", refuse)
    response = kari.start(draft, 100)
    assert response.status_code == status
    assert text in response.content.decode()
    assert response["Content-Type"].startswith("text/plain")
    assert not Upload.objects.exists()


def test_a_person_may_hold_only_so_many_unfinished_uploads(
    kari: Tus, draft: Case, settings: Any
) -> None:
    settings.TELEDERM_UPLOAD_MAX_ACTIVE = 2
    settings.TELEDERM_UPLOAD_QUOTA_BYTES = 10**9
    assert kari.start(draft, 100).status_code == 201
    assert kari.start(draft, 100).status_code == 201
    refused = kari.start(draft, 100)
    assert refused.status_code == 429
    assert "You have 2 unfinished uploads" in refused.content.decode()
    # An expired one no longer counts; a completed one never did.
    first, second = Upload.objects.order_by("pk")
    Upload.objects.filter(pk=first.pk).update(expires_at=clock.now() - dt.timedelta(seconds=1))
    Upload.objects.filter(pk=second.pk).update(offset=100, completed_at=clock.now())
    assert kari.start(draft, 100).status_code == 201
    assert kari.start(draft, 100).status_code == 201
    assert kari.start(draft, 100).status_code == 429


def test_a_person_may_hold_only_so_many_bytes_in_unfinished_uploads(
    kari: Tus, draft: Case, settings: Any
) -> None:
    settings.TELEDERM_UPLOAD_MAX_ACTIVE = 100
    settings.TELEDERM_UPLOAD_QUOTA_BYTES = 3 * 1024 * 1024
    assert kari.start(draft, 2 * 1024 * 1024).status_code == 201
    refused = kari.start(draft, 1024 * 1024 + 1)
    assert refused.status_code == 413
    assert "more than 3 MB" in refused.content.decode()
    assert kari.start(draft, 1024 * 1024).status_code == 201
    assert Upload.objects.count() == 2


def test_the_limits_are_per_person(
    kari: Tus, draft: Case, gp: User, make_case: Callable[..., Case], settings: Any
) -> None:
    settings.TELEDERM_UPLOAD_MAX_ACTIVE = 1
    assert kari.start(draft, 100).status_code == 201
    their_draft = make_case(by=gp, photos=0)
    assert Tus(sign_in(Client(), gp)).start(their_draft, 100).status_code == 201


# Creation with upload ---------------------------------------------------------------------------


def test_a_whole_photo_in_the_creation_request_completes_at_once(
    kari: Tus, draft: Case, photo_bytes: bytes
) -> None:
    response = kari.start(draft, len(photo_bytes), body=photo_bytes)
    assert response.status_code == 201
    assert response["Upload-Offset"] == str(len(photo_bytes))
    assert "Upload-Expires" not in response, "a finished upload does not expire"
    upload = Upload.objects.get()
    assert upload.is_complete and upload.sha256 == hashlib.sha256(photo_bytes).hexdigest()
    photo = Photo.objects.get(upload=upload)
    assert photo.is_pending and photo.case == draft
    assert photo.source_sha256 == upload.sha256
    assert DBTaskResult.objects.filter(task_path="telederm.photos.tasks.process_photo").exists()


def test_the_first_bytes_may_come_with_the_creation(
    kari: Tus, draft: Case, photo_bytes: bytes
) -> None:
    response = kari.start(
        draft,
        len(photo_bytes),
        body=photo_bytes[:1000],
        HTTP_UPLOAD_CHECKSUM=checksum("sha1", photo_bytes[:1000]),
    )
    assert response.status_code == 201
    assert response["Upload-Offset"] == "1000" and "Upload-Expires" in response
    upload = Upload.objects.get()
    assert on_disk(upload) == photo_bytes[:1000] and not upload.is_complete


def test_a_creation_body_with_a_wrong_checksum_creates_nothing(
    kari: Tus, draft: Case, photo_bytes: bytes, settings: Any
) -> None:
    response = kari.start(
        draft,
        len(photo_bytes),
        body=photo_bytes[:1000],
        HTTP_UPLOAD_CHECKSUM=checksum("sha1", b"x"),
    )
    assert response.status_code == 460
    assert not Upload.objects.exists()
    assert list(Path(settings.TELEDERM_UPLOAD_DIR).iterdir()) == []


def test_a_creation_body_longer_than_the_file_is_refused(kari: Tus, draft: Case) -> None:
    assert kari.start(draft, 10, body=b"x" * 11).status_code == 413
    assert not Upload.objects.exists()


def test_a_creation_body_of_another_type_is_not_taken_as_bytes(kari: Tus, draft: Case) -> None:
    response = kari.client.post(
        "/uploads/",
        b"x" * 10,
        content_type="image/jpeg",
        HTTP_UPLOAD_LENGTH="10",
        HTTP_UPLOAD_METADATA=f"case {b64(str(draft.uuid))}",
        **VERSION,
    )
    assert response.status_code == 201 and response["Upload-Offset"] == "0"
    assert on_disk(Upload.objects.get()) == b""


# PATCH ------------------------------------------------------------------------------------------


def test_a_photo_sent_in_three_chunks_becomes_a_pending_photo(
    kari: Tus, draft: Case, photo_bytes: bytes
) -> None:
    location, upload = started(kari, draft, len(photo_bytes))
    third = len(photo_bytes) // 3
    pieces = [photo_bytes[:third], photo_bytes[third : 2 * third], photo_bytes[2 * third :]]
    offset = 0
    for index, piece in enumerate(pieces):
        response = kari.send(location, offset, piece)
        assert response.status_code == 204, response.content
        offset += len(piece)
        assert response["Upload-Offset"] == str(offset)
        last = index == len(pieces) - 1
        assert ("Upload-Expires" in response) is not last
        assert kari.head(location)["Upload-Offset"] == str(offset)
    upload.refresh_from_db()
    assert upload.is_complete and on_disk(upload) == photo_bytes
    assert upload.sha256 == hashlib.sha256(photo_bytes).hexdigest()
    photo = Photo.objects.get(upload=upload)
    assert photo.is_pending and photo.kind == Photo.Kind.OVERVIEW
    head = kari.head(location)
    assert head["Upload-Offset"] == head["Upload-Length"] and "Upload-Expires" not in head


def test_a_chunk_must_be_an_offset_octet_stream(kari: Tus, draft: Case) -> None:
    location, upload = started(kari, draft, 100)
    assert (
        kari.send(location, 0, b"x" * 10, content_type="application/octet-stream").status_code
        == 415
    )
    upload.refresh_from_db()
    assert upload.offset == 0


@pytest.mark.parametrize("offset", [None, "", "ten", "-1", "1.5"])
def test_a_chunk_needs_a_whole_offset(offset: str | None, kari: Tus, draft: Case) -> None:
    location, _ = started(kari, draft, 100)
    extra = {**VERSION} if offset is None else {**VERSION, "HTTP_UPLOAD_OFFSET": offset}
    response = kari.client.patch(location, b"x" * 10, content_type=CHUNK, **extra)
    assert response.status_code == 400


def test_a_chunk_for_another_offset_gets_409_and_changes_nothing(kari: Tus, draft: Case) -> None:
    location, upload = started(kari, draft, 100)
    assert kari.send(location, 0, b"a" * 40).status_code == 204
    for wrong in (0, 20, 60):
        response = kari.send(location, wrong, b"b" * 10)
        assert response.status_code == 409
        assert "at byte 40" in response.content.decode()
    upload.refresh_from_db()
    assert upload.offset == 40 and on_disk(upload) == b"a" * 40


def test_the_same_chunk_sent_twice_is_taken_once(kari: Tus, draft: Case) -> None:
    """A client that retries after a lost answer: the second copy finds the offset moved."""
    location, upload = started(kari, draft, 100)
    assert kari.send(location, 0, b"a" * 50).status_code == 204
    assert kari.send(location, 0, b"a" * 50).status_code == 409
    upload.refresh_from_db()
    assert upload.offset == 50 and on_disk(upload) == b"a" * 50


def test_a_chunk_past_the_end_of_the_file_gets_413(kari: Tus, draft: Case) -> None:
    location, upload = started(kari, draft, 100)
    assert kari.send(location, 0, b"a" * 60).status_code == 204
    assert kari.send(location, 60, b"b" * 41).status_code == 413
    upload.refresh_from_db()
    assert upload.offset == 60 and on_disk(upload) == b"a" * 60
    assert kari.send(location, 60, b"b" * 40).status_code == 204


def test_an_empty_chunk_changes_nothing(kari: Tus, draft: Case) -> None:
    location, _ = started(kari, draft, 100)
    response = kari.send(location, 0, b"")
    assert response.status_code == 204 and response["Upload-Offset"] == "0"


def test_bytes_a_crashed_write_left_past_the_offset_are_cut_off(kari: Tus, draft: Case) -> None:
    location, upload = started(kari, draft, 100)
    assert kari.send(location, 0, b"a" * 30).status_code == 204
    with upload.path.open("ab") as file:  # written, but the offset was never committed
        file.write(b"garbage")
    assert kari.head(location)["Upload-Offset"] == "30"
    assert kari.send(location, 30, b"b" * 70).status_code == 204
    upload.refresh_from_db()
    assert upload.is_complete and on_disk(upload) == b"a" * 30 + b"b" * 70


def test_a_chunk_whose_bytes_were_lost_on_disk_gets_410(kari: Tus, draft: Case) -> None:
    location, upload = started(kari, draft, 100)
    assert kari.send(location, 0, b"a" * 30).status_code == 204
    upload.path.unlink()
    response = kari.send(location, 30, b"b" * 10)
    assert response.status_code == 410
    upload.refresh_from_db()
    assert upload.offset == 30


def test_a_chunk_over_the_request_size_limit_gets_413_with_the_tus_header(
    kari: Tus, draft: Case, settings: Any
) -> None:
    settings.TELEDERM_MAX_REQUEST_BYTES = 1000
    location, upload = started(kari, draft, 5000)
    response = kari.send(location, 0, b"a" * 1001)
    assert response.status_code == 413
    upload.refresh_from_db()
    assert upload.offset == 0
    assert kari.send(location, 0, b"a" * 1000).status_code == 204


# Checksums --------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sha256", "sha1", "md5"])
def test_a_chunk_with_a_matching_checksum_is_taken(algorithm: str, kari: Tus, draft: Case) -> None:
    location, _ = started(kari, draft, 100)
    data = os.urandom(50)
    response = kari.send(location, 0, data, HTTP_UPLOAD_CHECKSUM=checksum(algorithm, data))
    assert response.status_code == 204 and response["Upload-Offset"] == "50"


@pytest.mark.parametrize("algorithm", ["sha256", "sha1", "md5"])
def test_a_chunk_with_a_wrong_checksum_gets_460_and_is_dropped(
    algorithm: str, kari: Tus, draft: Case
) -> None:
    location, upload = started(kari, draft, 100)
    assert kari.send(location, 0, b"a" * 20).status_code == 204
    data = os.urandom(50)
    damaged = data[:-1] + bytes([data[-1] ^ 1])
    response = kari.send(location, 20, damaged, HTTP_UPLOAD_CHECKSUM=checksum(algorithm, data))
    assert response.status_code == 460
    upload.refresh_from_db()
    assert upload.offset == 20 and on_disk(upload) == b"a" * 20
    assert (
        kari.send(location, 20, data, HTTP_UPLOAD_CHECKSUM=checksum(algorithm, data)).status_code
        == 204
    )


@pytest.mark.parametrize(
    "header",
    ["crc32 AAAAAA==", "sha512 " + base64.b64encode(b"x" * 64).decode(), "sha1", "sha1 %%%"],
)
def test_an_unsupported_or_malformed_checksum_gets_400(header: str, kari: Tus, draft: Case) -> None:
    location, upload = started(kari, draft, 100)
    response = kari.send(location, 0, b"a" * 10, HTTP_UPLOAD_CHECKSUM=header)
    assert response.status_code == 400
    assert "sha256, sha1, md5" in response.content.decode()
    upload.refresh_from_db()
    assert upload.offset == 0


# Completion -------------------------------------------------------------------------------------


def test_a_complete_upload_takes_no_more_bytes_and_cannot_be_cancelled(
    kari: Tus, draft: Case, photo_bytes: bytes
) -> None:
    response = kari.start(draft, len(photo_bytes), body=photo_bytes)
    location = response["Location"]
    assert kari.send(location, len(photo_bytes), b"x").status_code == 403
    assert kari.send(location, 0, b"x").status_code == 403
    assert kari.delete(location).status_code == 403
    assert Upload.objects.get().is_complete and Photo.objects.count() == 1


def test_when_the_photo_is_refused_at_the_last_byte_the_chunk_is_undone(
    kari: Tus, draft: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    location, upload = started(kari, draft, 100)
    assert kari.send(location, 0, b"a" * 60).status_code == 204

    def refuse(**kwargs: Any) -> Photo:
        raise services.PhotoNotAdded("A case can have at most 10 photos.")

    monkeypatch.setattr(services, "upload_finished", refuse)
    response = kari.send(location, 60, b"b" * 40)
    assert response.status_code == 400
    assert response.content.decode() == "A case can have at most 10 photos."
    upload.refresh_from_db()
    assert upload.offset == 60 and not upload.is_complete and not upload.sha256
    assert on_disk(upload) == b"a" * 60


def test_the_photo_is_made_in_the_transaction_that_completes_the_upload(
    kari: Tus, draft: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[bool, int, str]] = []
    real = services.upload_finished

    def spy(*, upload: Upload, request: Any = None) -> Photo:
        from django.db import connection

        seen.append((connection.in_atomic_block, upload.offset, upload.sha256))
        return real(upload=upload, request=request)

    monkeypatch.setattr(services, "upload_finished", spy)
    location, _ = started(kari, draft, 100)
    data = os.urandom(100)
    assert kari.send(location, 0, data).status_code == 204
    assert seen == [(True, 100, hashlib.sha256(data).hexdigest())]


# Expiry -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["send", "head"])
def test_an_expired_upload_gets_410_and_is_removed(
    method: str, kari: Tus, draft: Case, django_capture_on_commit_callbacks: Any
) -> None:
    location, upload = started(kari, draft, 100)
    assert kari.send(location, 0, b"a" * 10).status_code == 204
    Upload.objects.filter(pk=upload.pk).update(expires_at=clock.now() - dt.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        response = kari.send(location, 10, b"b" * 10) if method == "send" else kari.head(location)
    assert response.status_code == 410
    assert not Upload.objects.exists()
    assert not upload.path.exists()
    assert kari.head(location).status_code == 404


def test_the_sweep_removes_expired_unfinished_uploads_only(
    kari: Tus,
    draft: Case,
    photo_bytes: bytes,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.TELEDERM_UPLOAD_EXPIRY_HOURS = 24
    expired_location, _ = started(kari, draft, 100)
    expired = Upload.objects.get()
    kari.send(expired_location, 0, b"a" * 10)
    kept_location = kari.start(draft, 100)["Location"]
    kept = Upload.objects.exclude(pk=expired.pk).get()
    kari.start(draft, len(photo_bytes), body=photo_bytes)
    complete = Upload.objects.get(completed_at__isnull=False)
    folder = Path(settings.TELEDERM_UPLOAD_DIR)
    stray_old, stray_new = folder / f"{uuid.uuid4()}.part", folder / f"{uuid.uuid4()}.part"
    stray_old.write_bytes(b"left by a killed process")
    stray_new.write_bytes(b"a row is being committed")
    day_ago = clock.now().timestamp() - 25 * 3600
    os.utime(stray_old, (day_ago, day_ago))
    Upload.objects.filter(pk__in=[expired.pk, complete.pk]).update(
        expires_at=clock.now() - dt.timedelta(hours=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_expired_uploads() == 1
    assert set(Upload.objects.values_list("pk", flat=True)) == {kept.pk, complete.pk}
    assert not expired.path.exists() and kept.path.exists() and complete.path.exists()
    assert not stray_old.exists() and stray_new.exists()
    assert sweep_expired_uploads() == 0
    assert kari.head(kept_location).status_code == 200

    later = clock.now() + dt.timedelta(hours=25)
    output = StringIO()
    with clock.frozen_at(later):
        call_command("sweep_uploads", stdout=output)
    assert output.getvalue().splitlines()[0] == "Removed 1 expired upload(s)."
    assert list(Upload.objects.values_list("pk", flat=True)) == [complete.pk]


# Termination ------------------------------------------------------------------------------------


def test_termination_removes_the_upload_and_its_bytes(
    kari: Tus, draft: Case, django_capture_on_commit_callbacks: Any
) -> None:
    location, upload = started(kari, draft, 100)
    assert kari.send(location, 0, b"a" * 10).status_code == 204
    with django_capture_on_commit_callbacks(execute=True):
        response = kari.delete(location)
    assert response.status_code == 204
    assert not Upload.objects.exists() and not upload.path.exists()
    assert kari.head(location).status_code == 404
    assert kari.send(location, 10, b"b").status_code == 404


# Who may ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["head", "send", "delete"])
def test_someone_elses_upload_is_answered_as_missing(
    method: str, kari: Tus, draft: Case, other_patient_user: User, duty_nurse: User
) -> None:
    location, upload = started(kari, draft, 100)
    assert kari.send(location, 0, b"a" * 10).status_code == 204
    for person in (other_patient_user, duty_nurse):
        other = Tus(sign_in(Client(), person))
        if method == "head":
            response = other.head(location)
        elif method == "send":
            response = other.send(location, 10, b"b" * 10)
        else:
            response = other.delete(location)
        assert response.status_code == 404
        assert response.content == (b"" if method == "head" else b"There is no such upload.")
        assert other.head(f"/uploads/{uuid.uuid4()}").status_code == 404
    upload.refresh_from_db()
    assert upload.offset == 10 and on_disk(upload) == b"a" * 10


def test_a_session_request_needs_the_csrf_token(
    patient_user: User, draft: Case, settings: Any
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(patient_user)
    browser = Tus(client)
    assert browser.start(draft, 100).status_code == 403
    assert not Upload.objects.exists()

    token = "k" * 32  # what Django's CSRF cookie holds; the page's script sends it back
    client.cookies[django_settings.CSRF_COOKIE_NAME] = token
    response = browser.start(draft, 100, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201
    location = response["Location"]
    assert browser.send(location, 0, b"a" * 10).status_code == 403
    assert browser.delete(location).status_code == 403
    assert browser.head(location).status_code == 200, "HEAD is safe: no token needed"
    assert browser.send(location, 0, b"a" * 10, HTTP_X_CSRFTOKEN=token).status_code == 204
    assert Upload.objects.get().offset == 10
    assert browser.delete(location, HTTP_X_CSRFTOKEN=token).status_code == 204


def test_staff_without_a_second_factor_get_403_not_a_redirect(
    gp: User, make_case: Callable[..., Case], patient_user: User
) -> None:
    their_draft = make_case(by=gp, photos=0)
    weak = Tus(sign_in(Client(), gp, second_factor=False))
    response = weak.start(their_draft, 100)
    assert response.status_code == 403
    assert "two-factor" in response.content.decode()
    assert not Upload.objects.exists()
    strong = Tus(sign_in(Client(), gp))
    assert strong.start(their_draft, 100).status_code == 201


def test_idle_staff_get_401_not_a_redirect(
    gp: User, make_case: Callable[..., Case], settings: Any
) -> None:
    from telederm.accounts.middleware import LAST_SEEN_KEY

    their_draft = make_case(by=gp, photos=0)
    client = sign_in(Client(), gp)
    session = client.session
    session[LAST_SEEN_KEY] = (
        clock.now().timestamp() - (settings.TELEDERM_STAFF_IDLE_MINUTES + 1) * 60
    )
    session.save()
    response = Tus(client).start(their_draft, 100)
    assert response.status_code == 401
    assert "signed out" in response.content.decode()
