"""Photos in S3-compatible object storage, against a real SeaweedFS on 127.0.0.1 (tests/s3.py).

The storage is built by `telederm.settings.s3_storage_options`, as in production, from the same
TELEDERM_S3_* variables an operator sets; boto3 then looks behind Django's back at what is really
in the bucket. docs/adr/0016-object-storage-s3.md says why photos are proxied, never linked.
"""

from __future__ import annotations

import io
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from conftest import jpeg_bytes, sign_in
from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case
from telederm.photos import services
from telederm.photos.models import Photo
from telederm.settings import S3_STORAGE_BACKEND, s3_storage_options
from tests.s3 import SeaweedS3, free_ports, listening_addresses
from tests.s3 import seaweed_s3 as seaweed_s3  # the session fixture, for pytest to find

SIZES = ("full", "screen", "thumb")


def use_s3(settings: Any, env: dict[str, str]) -> None:
    """Point Django's default storage at this S3 server (Django drops its cached storages)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": S3_STORAGE_BACKEND, "OPTIONS": s3_storage_options(env)},
    }


@pytest.fixture
def s3(seaweed_s3: SeaweedS3, settings: Any) -> SeaweedS3:
    use_s3(settings, seaweed_s3.env())
    return seaweed_s3


@pytest.fixture
def dead_s3(settings: Any) -> Iterator[str]:
    """An S3 store that is down: nothing listens on its port."""
    (port,) = free_ports(1)
    env = {
        "TELEDERM_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "TELEDERM_S3_ACCESS_KEY_ID": "telederm",
        "TELEDERM_S3_SECRET_ACCESS_KEY": "not-used-nothing-answers",
    }
    use_s3(settings, env)
    yield env["TELEDERM_S3_ENDPOINT_URL"]


def keys(server: SeaweedS3, prefix: str) -> list[str]:
    listing = server.client().list_objects_v2(Bucket=server.bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def rendition_name(photo_uuid: uuid.UUID, size: str) -> str:
    """Where the photo pipeline puts a rendition (telederm/photos/services.py)."""
    return f"photos/{photo_uuid.hex[:2]}/{photo_uuid}-{size}.jpg"


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  (our loopback)
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def stored_photo(case: Case, *, by: User) -> tuple[Photo, dict[str, bytes]]:
    """A ready photo whose renditions were written to the default storage, as processing does."""
    photo_uuid = uuid.uuid4()
    contents = {
        size: jpeg_bytes(size=(edge, edge), colour=(190, 140, 120))
        for size, edge in zip(SIZES, (640, 320, 64), strict=True)
    }
    names = {
        size: default_storage.save(rendition_name(photo_uuid, size), ContentFile(content))
        for size, content in contents.items()
    }
    photo = Photo.objects.create(
        uuid=photo_uuid,
        case=case,
        uploaded_by=by,
        status=Photo.Status.READY,
        full_name=names["full"],
        screen_name=names["screen"],
        thumb_name=names["thumb"],
        width=640,
        height=640,
        byte_size=len(contents["full"]),
    )
    return photo, contents


# --- The settings: private, signed, path style; nothing public can be configured -------------


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"TELEDERM_S3_ACL": "public-read"}, "TELEDERM_S3_ACL"),
        ({"TELEDERM_S3_ACL": "authenticated-read"}, "TELEDERM_S3_ACL"),
        ({"TELEDERM_S3_ACCESS_KEY_ID": "only-the-key"}, "or neither"),
        ({"TELEDERM_S3_SECRET_ACCESS_KEY": "only-the-secret"}, "or neither"),
        ({"TELEDERM_S3_ADDRESSING_STYLE": "dns"}, "ADDRESSING_STYLE"),
        ({"TELEDERM_S3_URL_SECONDS": "86400"}, "URL_SECONDS"),
        ({"TELEDERM_S3_SSE": "rot13"}, "TELEDERM_S3_SSE"),
    ],
)
def test_unsafe_or_half_s3_settings_are_refused(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=problem):
        s3_storage_options(env)


def test_the_s3_defaults_are_private_signed_briefly_and_path_style() -> None:
    options = s3_storage_options({})
    assert options["default_acl"] == "private"
    assert options["querystring_auth"] is True
    assert options["querystring_expire"] == 60
    assert options["file_overwrite"] is True
    assert options["custom_domain"] is None
    assert options["object_parameters"] == {}
    config: Any = options["client_config"]
    assert config.signature_version == "s3v4"
    assert config.s3 == {"addressing_style": "path"}
    # No keys of our own: django-storages and boto3 use the standard AWS chain (environment,
    # profile, the instance's role).
    assert "access_key" not in options and "secret_key" not in options


def test_s3_encryption_and_a_bucket_without_acls_can_be_chosen() -> None:
    options = s3_storage_options(
        {
            "TELEDERM_S3_SSE": "aws:kms",
            "TELEDERM_S3_SSE_KMS_KEY_ID": "alias/telederm-photos",
            "TELEDERM_S3_ACL": "",
        }
    )
    assert options["object_parameters"] == {
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": "alias/telederm-photos",
    }
    assert options["default_acl"] is None


# --- The storage itself --------------------------------------------------------------------


def test_the_test_server_listens_on_loopback_only(seaweed_s3: SeaweedS3) -> None:
    listening = listening_addresses(set(seaweed_s3.ports.values()))
    assert ("127.0.0.1", seaweed_s3.ports["s3"]) in listening
    assert {address for address, _ in listening} == {"127.0.0.1"}


def test_renditions_are_saved_read_and_deleted_in_the_bucket(s3: SeaweedS3) -> None:
    photo_uuid = uuid.uuid4()
    prefix = f"photos/{photo_uuid.hex[:2]}/{photo_uuid}"
    content = jpeg_bytes()
    names = [
        default_storage.save(rendition_name(photo_uuid, size), ContentFile(content))
        for size in SIZES
    ]
    assert names == [rendition_name(photo_uuid, size) for size in SIZES]
    assert keys(s3, prefix) == sorted(names)
    head = s3.client().head_object(Bucket=s3.bucket, Key=names[0])
    assert head["ContentType"] == "image/jpeg"
    with default_storage.open(names[0], "rb") as handle:
        assert handle.read() == content

    for name in names:
        default_storage.delete(name)
    assert keys(s3, prefix) == []
    assert not default_storage.exists(names[0])


def test_processing_again_replaces_a_rendition_instead_of_adding_a_copy(s3: SeaweedS3) -> None:
    name = rendition_name(uuid.uuid4(), "full")
    default_storage.save(name, ContentFile(b"from a run that crashed"))
    assert default_storage.save(name, ContentFile(jpeg_bytes())) == name
    assert keys(s3, name.rsplit("-", 1)[0]) == [name]
    with default_storage.open(name, "rb") as handle:
        assert handle.read(2) == b"\xff\xd8"
    default_storage.delete(name)


def test_an_anonymous_request_for_a_photo_object_is_refused(s3: SeaweedS3) -> None:
    name = default_storage.save(rendition_name(uuid.uuid4(), "thumb"), ContentFile(jpeg_bytes()))
    assert http_status(f"{s3.endpoint_url}/{s3.bucket}/{name}") == 403
    default_storage.delete(name)


def test_a_signed_url_is_short_lived(s3: SeaweedS3) -> None:
    """The app hands out no store URLs (it proxies), but if one is made it soon stops working."""
    name = default_storage.save(rendition_name(uuid.uuid4(), "thumb"), ContentFile(jpeg_bytes()))
    url = default_storage.url(name)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=60&" in url
    assert http_status(url) == 200

    brief = default_storage.url(name, expire=1)
    time.sleep(2.1)
    assert http_status(brief) == 403
    default_storage.delete(name)


def test_renditions_are_encrypted_at_rest_when_asked(seaweed_s3: SeaweedS3, settings: Any) -> None:
    use_s3(settings, seaweed_s3.env(TELEDERM_S3_SSE="AES256"))
    name = default_storage.save(rendition_name(uuid.uuid4(), "full"), ContentFile(jpeg_bytes()))
    head = seaweed_s3.client().head_object(Bucket=seaweed_s3.bucket, Key=name)
    assert head["ServerSideEncryption"] == "AES256"
    with default_storage.open(name, "rb") as handle:
        assert handle.read(2) == b"\xff\xd8"
    default_storage.delete(name)


def test_a_wrong_secret_is_refused_by_the_store(seaweed_s3: SeaweedS3, settings: Any) -> None:
    from botocore.exceptions import ClientError

    use_s3(settings, seaweed_s3.env(TELEDERM_S3_SECRET_ACCESS_KEY="not-the-secret"))
    with pytest.raises(ClientError, match="SignatureDoesNotMatch"):
        default_storage.save(rendition_name(uuid.uuid4(), "full"), ContentFile(b"x"))


# --- Through the application ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_photo_sent_through_the_pipeline_lands_in_the_bucket(
    s3: SeaweedS3, make_case: Callable[..., Case]
) -> None:
    case = make_case(photos=1)
    photo = case.photos.get()
    assert photo.is_ready
    names = [photo.storage_name(size) for size in SIZES]
    assert keys(s3, f"photos/{photo.uuid.hex[:2]}/{photo.uuid}") == sorted(names)
    with default_storage.open(photo.full_name, "rb") as handle:
        assert handle.read(2) == b"\xff\xd8"


@pytest.mark.django_db
def test_the_patient_gets_the_photo_streamed_from_the_bucket_and_the_read_is_logged(
    s3: SeaweedS3,
    make_case: Callable[..., Case],
    patient_user: User,
    client: Client,
) -> None:
    case = make_case(photos=0)
    photo, contents = stored_photo(case, by=patient_user)
    url = reverse("photos:image", args=[case.uuid, photo.uuid, "screen"])

    response = sign_in(client, patient_user).get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content) == contents["screen"]
    event = AccessEvent.objects.get(action="photo.view")
    assert (event.actor, event.object_uuid, event.kind) == (patient_user, photo.uuid, "read")


@pytest.mark.django_db
def test_another_patient_gets_404_and_nothing_is_read_for_them(
    s3: SeaweedS3,
    make_case: Callable[..., Case],
    patient_user: User,
    other_patient_user: User,
    client: Client,
) -> None:
    case = make_case(photos=0)
    photo, _ = stored_photo(case, by=patient_user)
    url = reverse("photos:image", args=[case.uuid, photo.uuid, "full"])

    assert sign_in(client, other_patient_user).get(url).status_code == 404
    assert not AccessEvent.objects.filter(action="photo.view").exists()


# --- When the store is down ----------------------------------------------------------------


@pytest.mark.django_db
def test_readyz_reports_an_unreachable_store(dead_s3: str, client: Client) -> None:
    started = time.monotonic()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "storage": "error: EndpointConnectionError",
    }
    # Three quick tries, not botocore's default minute-long connect timeouts.
    assert time.monotonic() - started < 15


@pytest.mark.django_db
def test_processing_while_the_store_is_down_leaves_the_photo_pending_for_a_retry(
    seaweed_s3: SeaweedS3, make_case: Callable[..., Case], settings: Any
) -> None:
    from botocore.exceptions import EndpointConnectionError

    case = make_case(photos=0)
    photo = services.add_photo(by=case.created_by, case=case, upload=io.BytesIO(jpeg_bytes()))
    (port,) = free_ports(1)
    use_s3(settings, seaweed_s3.env(TELEDERM_S3_ENDPOINT_URL=f"http://127.0.0.1:{port}"))

    with pytest.raises(EndpointConnectionError):
        services.process_photo(photo_uuid=photo.uuid)
    photo.refresh_from_db()
    assert photo.is_pending and photo.full_name == ""
    assert keys(seaweed_s3, f"photos/{photo.uuid.hex[:2]}/{photo.uuid}") == []

    use_s3(settings, seaweed_s3.env())  # the store is back; the task runs again
    photo = services.process_photo(photo_uuid=photo.uuid)
    assert photo.is_ready
    assert len(keys(seaweed_s3, f"photos/{photo.uuid.hex[:2]}/{photo.uuid}")) == 3


@pytest.mark.django_db
def test_the_photo_route_answers_503_when_the_store_is_down(
    s3: SeaweedS3,
    make_case: Callable[..., Case],
    patient_user: User,
    settings: Any,
) -> None:
    case = make_case(photos=0)
    photo, _ = stored_photo(case, by=patient_user)
    (port,) = free_ports(1)
    use_s3(settings, s3.env(TELEDERM_S3_ENDPOINT_URL=f"http://127.0.0.1:{port}"))
    client = sign_in(Client(raise_request_exception=False), patient_user)

    response = client.get(reverse("photos:image", args=[case.uuid, photo.uuid, "screen"]))

    assert response.status_code == 503, response.status_code
    assert response.has_header("Retry-After")
    assert not AccessEvent.objects.filter(action="photo.view").exists()
