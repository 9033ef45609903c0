"""The public guide pages, and the answer summary's views (HTML and PDF) with their access rules."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from telederm.review import guides


@pytest.mark.django_db
def test_anyone_can_read_the_guide_list_without_signing_in(client: Client) -> None:
    response = client.get(reverse("answers:guide_list"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    for guide in guides.all_guides("en"):
        assert guide.title in response.text
        assert reverse("answers:guide", args=[guide.slug]) in response.text


@pytest.mark.django_db
@pytest.mark.parametrize("slug", guides.SLUGS)
def test_anyone_can_read_a_guide(client: Client, slug: str) -> None:
    response = client.get(reverse("answers:guide", args=[slug]))
    assert response.status_code == 200
    guide = guides.get(slug, "en")
    assert guide.title in response.text
    assert guide.sources[0] in response.text
    assert "113" in response.text


@pytest.mark.django_db
def test_a_guide_is_shown_in_the_chosen_language(client: Client) -> None:
    client.cookies["django_language"] = "nb"
    response = client.get(reverse("answers:guide", args=["scabies"]))
    assert guides.get("scabies", "nb").title in response.text
    assert 'lang="nb"' in response.text


@pytest.mark.django_db
def test_an_unknown_guide_is_not_found(client: Client) -> None:
    assert client.get("/guides/no-such-guide/").status_code == 404


@pytest.mark.django_db
def test_guides_cannot_be_posted_to(client: Client) -> None:
    assert client.post(reverse("answers:guide_list")).status_code == 405
