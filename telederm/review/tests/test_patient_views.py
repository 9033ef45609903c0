"""The public guide pages, and the answer summary's views (HTML and PDF) with their access rules."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from conftest import answer, sign_in
from telederm.accounts.models import User
from telederm.audit.models import AccessEvent
from telederm.cases.models import Case
from telederm.review import guides
from telederm.triage.services import advise_self_care


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


# The answer summary: only for someone who may see the case, only once answered, always logged.


def _answered(make_case: Callable[..., Case], dermatologist: User, language: str = "en") -> Case:
    case = make_case(submit=True)
    answer(case, dermatologist, take=True, diagnosis="Hand eczema")
    case.patient.preferred_language = language
    case.patient.save(update_fields=["preferred_language"])
    return case


def _logged(case: Case, action: str) -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(case_uuid=case.uuid, action=action))


@pytest.mark.django_db
def test_the_patient_reads_the_summary(
    client: Client, make_case: Callable[..., Case], dermatologist: User, patient_user: User
) -> None:
    case = _answered(make_case, dermatologist)
    sign_in(client, patient_user)
    response = client.get(reverse("answers:summary", args=[case.uuid]))
    assert response.status_code == 200
    assert "Hand eczema" in response.text
    assert "Keep an eye on it." in response.text
    assert "Clinical note for the GP" not in response.text, "the assessment is for professionals"
    assert reverse("answers:summary_pdf", args=[case.uuid]) in response.text
    assert "in the patient's language" not in response.text
    assert [e.actor_id for e in _logged(case, "case.view")] == [patient_user.pk]
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_the_patient_downloads_the_pdf(
    client: Client, make_case: Callable[..., Case], dermatologist: User, patient_user: User
) -> None:
    case = _answered(make_case, dermatologist, language="nb")
    sign_in(client, patient_user)
    response = client.get(reverse("answers:summary_pdf", args=[case.uuid]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    answered_on = timezone.localdate(case.review.signed_at).isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="telederm-answer-{answered_on}.pdf"'
    )
    assert "no-store" in response["Cache-Control"]
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert "Hand eczema" in text and "Keep an eye on it." in text
    assert "Clinical note for the GP" not in text
    downloads = _logged(case, "case.summary.download")
    assert [(e.actor_id, e.basis) for e in downloads] == [(patient_user.pk, "own")]
    assert [e.actor_id for e in _logged(case, "case.view")] == [patient_user.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["answers:summary", "answers:summary_pdf"])
def test_another_patient_gets_nothing_and_nothing_is_logged(
    client: Client,
    make_case: Callable[..., Case],
    dermatologist: User,
    other_patient_user: User,
    name: str,
) -> None:
    case = _answered(make_case, dermatologist)
    sign_in(client, other_patient_user)
    response = client.get(reverse(name, args=[case.uuid]))
    assert response.status_code == 404
    assert not AccessEvent.objects.filter(actor=other_patient_user).exists()
    assert b"Hand eczema" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["answers:summary", "answers:summary_pdf"])
def test_an_outsider_gets_nothing(
    client: Client, make_case: Callable[..., Case], dermatologist: User, outsider: User, name: str
) -> None:
    case = _answered(make_case, dermatologist)
    sign_in(client, outsider)
    assert client.get(reverse(name, args=[case.uuid])).status_code == 404
    assert not AccessEvent.objects.filter(actor=outsider).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["answers:summary", "answers:summary_pdf"])
def test_an_anonymous_visitor_is_sent_to_sign_in(
    client: Client, make_case: Callable[..., Case], dermatologist: User, name: str
) -> None:
    case = _answered(make_case, dermatologist)
    response = client.get(reverse(name, args=[case.uuid]))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["answers:summary", "answers:summary_pdf"])
def test_there_is_nothing_to_show_before_the_answer(
    client: Client, make_case: Callable[..., Case], patient_user: User, name: str
) -> None:
    case = make_case(submit=True)
    sign_in(client, patient_user)
    assert client.get(reverse(name, args=[case.uuid])).status_code == 404
    assert not _logged(case, "case.view"), "nothing was shown, so nothing is logged as seen"


@pytest.mark.django_db
def test_the_dermatologist_sees_the_patients_words_with_a_language_note(
    client: Client, make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = _answered(make_case, dermatologist, language="nb")
    sign_in(client, dermatologist)
    response = client.get(reverse("answers:summary", args=[case.uuid]))
    assert response.status_code == 200
    assert "in the patient's language" in response.text
    assert '<div lang="nb">' in response.text
    assert reverse("review:case", args=[case.uuid]) in response.text


@pytest.mark.django_db
def test_the_summary_links_the_guides(
    client: Client, make_case: Callable[..., Case], duty_nurse: User, patient_user: User
) -> None:
    case = make_case(submit=True)
    advise_self_care(
        by=duty_nurse,
        case=case,
        expected_version=case.version,
        text="Athlete's foot: use an antifungal cream.",
        guides=["fungal-infections"],
    )
    sign_in(client, patient_user)
    response = client.get(reverse("answers:summary", args=[case.uuid]))
    assert response.status_code == 200
    assert reverse("answers:guide", args=["fungal-infections"]) in response.text
    assert "Sopp i huden" in response.text, "the patient's language (bokmål by default)"


@pytest.mark.django_db
def test_the_summary_cannot_be_posted_to(
    client: Client, make_case: Callable[..., Case], dermatologist: User, patient_user: User
) -> None:
    case = _answered(make_case, dermatologist)
    sign_in(client, patient_user)
    assert client.post(reverse("answers:summary", args=[case.uuid])).status_code == 405


@pytest.mark.django_db
def test_a_guide_not_yet_translated_says_so(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "acne.md").write_text(
        "---\ntitle: Kviser\nsummary: Om kviser.\nreviewed: 2026-01-02\n"
        "sources:\n  - NEL\n---\n## Hva det er\n\nTekst.\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(guides, "GUIDE_DIR", tmp_path)
    response = client.get(reverse("answers:guide", args=["acne"]))
    assert response.status_code == 200
    assert "Kviser" in response.text and '<article class="guide" lang="nb">' in response.text
    assert "has not been written in your language yet" in response.text


# A guide opened from a summary is in the summary's language, whatever the browser prefers.


@pytest.mark.django_db
def test_the_summary_links_its_guides_in_the_patients_language(
    client: Client, make_case: Callable[..., Case], duty_nurse: User, patient_user: User
) -> None:
    case = make_case(submit=True)
    advise_self_care(
        by=duty_nurse,
        case=case,
        expected_version=case.version,
        text="Athlete's foot: use an antifungal cream.",
        guides=["fungal-infections"],
    )
    sign_in(client, patient_user)
    response = client.get(reverse("answers:summary", args=[case.uuid]), HTTP_ACCEPT_LANGUAGE="en")
    link = reverse("answers:guide", args=["fungal-infections"]) + "?lang=nb"
    assert f'href="{link}"' in response.text

    guide = client.get(link, HTTP_ACCEPT_LANGUAGE="en")
    assert guide.status_code == 200
    nb = guides.get("fungal-infections", "nb")
    assert (
        f"<h1>{nb.title}</h1>" in guide.text and '<article class="guide" lang="nb">' in guide.text
    )
    assert guides.get("fungal-infections", "en").title not in guide.text
    # The page around the guide stays in the reader's language; the way back keeps the guide's.
    assert "Self-care guides" in guide.text
    assert reverse("answers:guide_list") + "?lang=nb" in guide.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [("?lang=nb", "nb"), ("?lang=en", "en"), ("?lang=xx", "en"), ("?lang=", "en"), ("", "en")],
)
def test_a_guide_honours_a_known_lang_and_else_the_readers_language(
    client: Client, query: str, expected: str
) -> None:
    response = client.get(
        reverse("answers:guide", args=["scabies"]) + query, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert guides.get("scabies", expected).title in response.text
    assert f'<article class="guide" lang="{expected}">' in response.text


@pytest.mark.django_db
def test_the_guide_list_keeps_the_asked_language_on_its_links(client: Client) -> None:
    response = client.get(reverse("answers:guide_list") + "?lang=nb", HTTP_ACCEPT_LANGUAGE="en")
    assert guides.get("acne", "nb").title in response.text
    assert reverse("answers:guide", args=["acne"]) + "?lang=nb" in response.text


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["guide", "guide_list"])
def test_a_signed_in_patient_has_the_usual_links_on_the_guide_pages(
    client: Client, patient_user: User, page: str
) -> None:
    url = reverse(f"answers:{page}", args=["acne"] if page == "guide" else [])
    sign_in(client, patient_user)
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert f'href="{reverse("cases:list")}">My cases<' in response.text
    assert f'href="{reverse("cases:new")}">New case<' in response.text


@pytest.mark.django_db
def test_a_visitor_has_no_case_links_on_a_guide(client: Client) -> None:
    response = client.get(reverse("answers:guide", args=["acne"]), HTTP_ACCEPT_LANGUAGE="en")
    assert reverse("cases:list") not in response.text
