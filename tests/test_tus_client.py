"""A real tus client (tuspy) against the live server: chunks, resuming, dropped connections,
uploads side by side, and a program with a bearer token."""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from tusclient import client as tus_client
from tusclient.uploader import Uploader

from telederm.accounts.models import User
from telederm.api.tokens import issue_token
from telederm.cases.models import Case
from telederm.photos.models import Photo, Upload
from tests.live import browser_headers, live_base

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["live_base"]  # the fixture, used by name

CHUNK = 64 * 1024


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def uploader_for(
    base: str, headers: dict[str, str], case: Case, data: bytes, **options: Any
) -> Uploader:
    client = tus_client.TusClient(f"{base}/uploads/", headers=headers)
    return client.uploader(
        file_stream=io.BytesIO(data),
        chunk_size=options.pop("chunk_size", CHUNK),
        metadata={"case": str(case.uuid), "kind": "overview", "filename": "mole.jpg"},
        **options,
    )


def stored(url: str) -> Upload:
    return Upload.objects.get(uuid=url.rstrip("/").rsplit("/", 1)[1])


def assert_arrived_whole(url: str, data: bytes, case: Case) -> None:
    upload = stored(url)
    assert upload.is_complete and upload.offset == upload.length == len(data)
    assert upload.sha256 == sha256(data)
    assert sha256(upload.path.read_bytes()) == sha256(data)
    photo = Photo.objects.get(upload=upload)
    assert photo.case_id == case.pk and photo.source_sha256 == sha256(data)


def raw_patch(
    base: str,
    url: str,
    headers: dict[str, str],
    *,
    offset: int,
    body: bytes,
    declared: int,
    wait_for_answer: bool,
) -> tuple[int, dict[str, str]] | None:
    """PATCH announcing `declared` bytes but sending only `body`, then stop sending.

    With `wait_for_answer` the client half-closes and reads the answer; otherwise it closes the
    connection outright, as a phone losing its signal does.
    """
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "localhost", parts.port, timeout=30)
    try:
        connection.putrequest("PATCH", urlsplit(url).path)
        for name, value in {
            **headers,
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(declared),
        }.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        assert connection.sock is not None
        if not wait_for_answer:
            return None
        connection.sock.shutdown(socket.SHUT_WR)  # no more bytes are coming
        response = connection.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def offset_when_settled(uploader: Uploader, expected: int, seconds: float = 15) -> int:
    """The server's offset, once the request cut off mid-body has been handled."""
    deadline = time.monotonic() + seconds
    offset = uploader.get_offset()
    while offset != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        offset = uploader.get_offset()
    return offset


@pytest.fixture
def draft(make_case: Callable[..., Case]) -> Case:
    return make_case(photos=0)


def test_a_file_sent_in_many_checksummed_chunks_arrives_whole(
    live_base: str, patient_user: User, draft: Case
) -> None:
    data = os.urandom(5 * CHUNK + 1234)
    uploader = uploader_for(
        live_base, browser_headers(patient_user), draft, data, upload_checksum=True
    )
    uploader.upload()
    assert uploader.url is not None and uploader.url.startswith(f"{live_base}/uploads/")
    assert uploader.offset == len(data)
    assert_arrived_whole(uploader.url, data, draft)


def test_an_upload_stopped_half_way_is_resumed_from_the_servers_offset(
    live_base: str, patient_user: User, draft: Case
) -> None:
    data = os.urandom(6 * CHUNK)
    headers = browser_headers(patient_user)
    first = uploader_for(live_base, headers, draft, data)
    first.upload(stop_at=3 * CHUNK)  # the page was closed after three chunks
    assert first.url is not None
    assert stored(first.url).offset == 3 * CHUNK and not stored(first.url).is_complete

    again = uploader_for(live_base, headers, draft, data, url=first.url)
    assert again.offset == 3 * CHUNK, "the client learns the offset from HEAD"
    again.upload()
    assert_arrived_whole(first.url, data, draft)


def test_a_connection_dropped_mid_chunk_keeps_what_arrived_and_the_client_resumes(
    live_base: str, patient_user: User, draft: Case
) -> None:
    data = os.urandom(4 * CHUNK)
    headers = browser_headers(patient_user)
    uploader = uploader_for(live_base, headers, draft, data)
    uploader.upload_chunk()
    assert uploader.url is not None and uploader.offset == CHUNK

    # The next chunk announces 64 KiB, but the signal goes after 20,000 bytes.
    raw_patch(
        live_base,
        uploader.url,
        headers,
        offset=CHUNK,
        body=data[CHUNK : CHUNK + 20_000],
        declared=CHUNK,
        wait_for_answer=False,
    )
    assert offset_when_settled(uploader, CHUNK + 20_000) == CHUNK + 20_000

    resumed = uploader_for(live_base, headers, draft, data, url=uploader.url)
    assert resumed.offset == CHUNK + 20_000
    resumed.upload()
    assert_arrived_whole(uploader.url, data, draft)


def test_a_dropped_chunk_with_a_checksum_is_not_kept(
    live_base: str, patient_user: User, draft: Case
) -> None:
    data = os.urandom(3 * CHUNK)
    headers = browser_headers(patient_user)
    uploader = uploader_for(live_base, headers, draft, data)
    uploader.upload_chunk()
    assert uploader.url is not None
    digest = base64.b64encode(
        hashlib.sha1(data[CHUNK : 2 * CHUNK], usedforsecurity=False).digest()
    ).decode()
    answer = raw_patch(
        live_base,
        uploader.url,
        {**headers, "Upload-Checksum": f"sha1 {digest}"},
        offset=CHUNK,
        body=data[CHUNK : CHUNK + 20_000],
        declared=CHUNK,
        wait_for_answer=True,
    )
    assert answer is not None and answer[0] == 460
    assert answer[1]["tus-resumable"] == "1.0.0"
    assert uploader.get_offset() == CHUNK
    uploader.upload()
    assert_arrived_whole(uploader.url, data, draft)


def test_uploads_side_by_side_all_arrive_whole(
    live_base: str, patient_user: User, draft: Case
) -> None:
    headers = browser_headers(patient_user)
    files = [os.urandom(3 * CHUNK + 1000 * index) for index in range(4)]

    def send(data: bytes) -> str:
        uploader = uploader_for(live_base, headers, draft, data, chunk_size=16 * 1024)
        uploader.upload()
        assert uploader.url is not None
        return uploader.url

    with ThreadPoolExecutor(max_workers=4) as pool:
        urls = list(pool.map(send, files))
    assert len(set(urls)) == 4
    for url, data in zip(urls, files, strict=True):
        assert_arrived_whole(url, data, draft)
    assert draft.photos.count() == 4


def test_two_copies_of_one_chunk_at_once_are_taken_once(
    live_base: str, patient_user: User, draft: Case
) -> None:
    """A client retrying while its first request still runs: the row lock lets one in, and the
    other finds the offset moved."""
    data = os.urandom(2 * CHUNK)
    headers = browser_headers(patient_user)
    uploader = uploader_for(live_base, headers, draft, data)
    uploader.set_url(uploader.create_url())
    assert uploader.url is not None
    url = uploader.url

    def send_first_chunk(_: int) -> int:
        answer = raw_patch(
            live_base,
            url,
            headers,
            offset=0,
            body=data[:CHUNK],
            declared=CHUNK,
            wait_for_answer=True,
        )
        assert answer is not None
        return answer[0]

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(send_first_chunk, range(2)))
    assert statuses == [204, 409]
    assert stored(url).offset == CHUNK
    assert stored(url).path.read_bytes() == data[:CHUNK]


def test_a_program_uploads_with_a_bearer_token(
    live_base: str, gp: User, make_case: Callable[..., Case]
) -> None:
    referral = make_case(by=gp, photos=0)
    _, token = issue_token(user=gp, scopes=["user/Media.write"], label="practice system")
    data = os.urandom(3 * CHUNK)
    uploader = uploader_for(
        live_base, {"Authorization": f"Bearer {token}"}, referral, data, upload_checksum=True
    )
    uploader.upload()
    assert uploader.url is not None
    assert_arrived_whole(uploader.url, data, referral)
    assert stored(uploader.url).owner == gp

    _, reader = issue_token(user=gp, scopes=["user/*.read"])
    refused = uploader_for(live_base, {"Authorization": f"Bearer {reader}"}, referral, data)
    with pytest.raises(Exception, match="403"):
        refused.upload()
