"""The diagnosis code search: clinical staff only, an htmx fragment or a page without JavaScript."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import include, path

from conftest import sign_in
from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.review import code_views

# The workspace's URLconf mounts the view at /clinic/codes/; these tests mount it themselves so
# that they do not depend on that wiring.
urlpatterns = [
    path("test-codes/", code_views.search, name="test_code_search"),
    path("", include(settings.ROOT_URLCONF)),
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

URL = "/test-codes/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_signed_out_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = client.get(URL, {"q": "L40"})
    assert response.status_code == 302
    assert "/account/login/" in response["Location"]


@pytest.mark.parametrize("persona", ["patient_user", "gp", "coordinator", "outsider"])
def test_people_outside_the_clinic_are_refused(
    client: Client, persona: str, request: pytest.FixtureRequest
) -> None:
    sign_in(client, request.getfixturevalue(persona))
    assert client.get(URL, {"q": "L40"}).status_code == 403


@pytest.mark.parametrize("persona", ["duty_nurse", "dermatologist"])
def test_clinicians_get_an_htmx_fragment_of_pickable_codes(
    client: Client, persona: str, request: pytest.FixtureRequest
) -> None:
    sign_in(client, request.getfixturevalue(persona))
    response = client.get(URL, {"q": "l40.0", "system": "icd10"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert 'data-code-system="icd10"' in html
    assert 'data-code="L40.0"' in html
    assert 'data-code-title="Psoriasis vulgaris"' in html
    assert 'type="button"' in html


def test_without_javascript_the_search_is_a_page_with_a_form(
    client: Client, dermatologist: User
) -> None:
    sign_in(client, dermatologist)
    response = client.get(URL, {"q": "psoriasis", "system": "icpc2"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and 'name="q"' in html and 'value="psoriasis"' in html
    assert "<strong>S91</strong>" in html
    assert "<strong>L40</strong>" not in html  # only ICPC-2 was asked for
    assert "code-choice" not in html  # nothing to pick on the plain page


def test_an_unknown_system_searches_both(client: Client, dermatologist: User) -> None:
    sign_in(client, dermatologist)
    html = client.get(URL, {"q": "psoriasis", "system": "snomed"}, **HTMX).content.decode()
    assert 'data-code="S91"' in html and 'data-code="L40"' in html


def test_an_empty_query_lists_nothing(client: Client, duty_nurse: User) -> None:
    sign_in(client, duty_nurse)
    html = client.get(URL, {"q": " "}, **HTMX).content.decode()
    assert "data-code=" not in html
    assert "Type a code" in html


def test_searching_codes_writes_no_access_log_entry(client: Client, dermatologist: User) -> None:
    sign_in(client, dermatologist)
    before = AccessEvent.objects.count()
    client.get(URL, {"q": "eczema"}, **HTMX)
    assert AccessEvent.objects.count() == before


def test_posting_is_not_allowed(client: Client, dermatologist: User) -> None:
    sign_in(client, dermatologist)
    assert client.post(URL, {"q": "L40"}).status_code == 405


def test_bare_english_titles_show_their_category(client: Client, dermatologist: User) -> None:
    sign_in(client, dermatologist)
    html = client.get(URL, {"q": "C44.0"}, **HTMX).content.decode()
    assert "Skin of lip" in html
    assert "Other malignant neoplasms of skin" in html


def test_bokmal_titles_and_the_unconfirmed_ones_are_marked(
    client: Client, dermatologist: User
) -> None:
    sign_in(client, dermatologist)
    client.cookies["django_language"] = "nb"
    html = client.get(URL, {"q": "L40", "system": "icd10"}, **HTMX).content.decode()
    assert 'data-code-title="Psoriasis vulgaris"' in html
    assert 'data-code-title="Generalisert pustuløs psoriasis"' in html
    # L40's bokmål title is ours, not the list's: it says so, once, and is not shown as the
    # category of its subcategories.
    assert html.count("data-unconfirmed-title") == 1
    assert "(Psoriasis)" not in html
