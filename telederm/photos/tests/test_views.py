"""The sender's photo page: the way on ("Continue to check and send") follows the spot's panel."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from conftest import jpeg_bytes, sign_in
from telederm.cases.models import Case
from telederm.photos import services
from telederm.photos.models import Lesion, Photo
from telederm.photos.tests.test_services import a_site

pytestmark = pytest.mark.django_db

CONTINUE = "Continue to check and send"
NOT_YET = "When every spot has an overview and a close-up, you can continue."


def a_spot(case: Case) -> Lesion:
    site, side = a_site()
    return services.add_lesion(by=case.created_by, case=case, body_site=site, laterality=side)


def a_photo(case: Case, lesion: Lesion, kind: str, *, checked: bool = True) -> Photo:
    # A different picture for each kind: the same bytes twice are refused as a duplicate.
    colour = (200, 150, 130) if kind == Photo.Kind.OVERVIEW else (190, 140, 120)
    return services.add_photo(
        by=case.created_by,
        case=case,
        upload=io.BytesIO(jpeg_bytes(colour=colour)),
        kind=kind,
        lesion=lesion,
        process_now=checked,
    )


def status_of(client: Client, case: Case, lesion: Lesion, part: str = "") -> str:
    url = reverse("photos:lesion_status", args=[case.uuid, lesion.uuid])
    response = client.get(url + (f"?part={part}" if part else ""), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.content.decode()


def test_the_panel_brings_the_continue_link_once_both_photos_are_in(
    client: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case(photos=0)
    lesion = a_spot(case)
    sign_in(client, case.created_by)
    a_photo(case, lesion, Photo.Kind.OVERVIEW)

    half = status_of(client, case, lesion)
    assert 'id="photo-actions"' in half and 'hx-swap-oob="innerHTML"' in half
    assert NOT_YET in half and CONTINUE not in half

    a_photo(case, lesion, Photo.Kind.CLOSE_UP)
    whole = status_of(client, case, lesion)
    assert CONTINUE in whole and NOT_YET not in whole
    assert reverse("cases:summary", args=[case.uuid]) in whole


def test_a_photo_still_being_checked_holds_back_the_link_until_it_is_checked(
    client: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case(photos=0)
    lesion = a_spot(case)
    sign_in(client, case.created_by)
    a_photo(case, lesion, Photo.Kind.OVERVIEW)
    pending = a_photo(case, lesion, Photo.Kind.CLOSE_UP, checked=False)

    polling = status_of(client, case, lesion, part="photos")
    assert 'hx-trigger="every 2s"' in polling and "data-photos-checked" not in polling
    assert CONTINUE not in polling and 'hx-swap-oob="innerHTML"' in polling

    services.process_photo(photo_uuid=pending.uuid)
    checked = status_of(client, case, lesion, part="photos")
    assert "every 2s" not in checked and "data-photos-checked" in checked
    assert CONTINUE in checked


def test_the_whole_page_offers_the_same_actions_without_javascript(
    client: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case(photos=0)
    lesion = a_spot(case)
    sign_in(client, case.created_by)
    url = reverse("photos:manage", args=[case.uuid])

    page = client.get(url).content.decode()
    assert NOT_YET in page and CONTINUE not in page
    # Only a refresh swaps out of band: the page itself draws the area in place.
    assert 'id="photo-actions"' in page and "hx-swap-oob" not in page

    a_photo(case, lesion, Photo.Kind.OVERVIEW)
    a_photo(case, lesion, Photo.Kind.CLOSE_UP)
    assert CONTINUE in client.get(url).content.decode()


def test_a_photo_of_a_spot_from_an_earlier_case_is_refreshed_with_this_case_s_actions(
    client: Client, make_case: Callable[..., Case]
) -> None:
    case = make_case(photos=0)
    lesion = a_spot(case)
    a_photo(case, lesion, Photo.Kind.OVERVIEW)
    other = make_case(photos=0)
    sign_in(client, case.created_by)
    # Another draft of the same patient: its own actions, not the first case's.
    body = status_of(client, case, lesion)
    assert reverse("cases:summary", args=[case.uuid]) not in body
    assert reverse("cases:edit", args=[case.uuid]) in body
    assert reverse("cases:edit", args=[other.uuid]) not in body
