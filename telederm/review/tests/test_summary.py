"""The answer summary: what the patient reads, in their language, and the PDF built from it."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from django.utils.translation import get_language
from pypdf import PdfReader
from weasyprint.urls import URLFetcherResponse

from conftest import answer
from telederm.accounts.models import User
from telederm.cases.models import Case
from telederm.review import services, summary
from telederm.triage import services as triage_services

pytestmark = pytest.mark.django_db

ECZEMA = services.DiagnosisChoice(system="icd10", code="L30.9", is_primary=True)
WRITTEN = {
    "assessment": "Lichenified plaques, excoriations; secondary impetiginisation unlikely.",
    "advice_gp": "Consider patch testing if no response in 8 weeks.",
    "diagnosis": "Hand eczema",
    "advice": "Use the cream on the red patches every evening.",
    "safety_net": "If it weeps or gets yellow crusts, contact your GP.",
}


def sign(case: Case, by: User, *, outcome: str = "advice", **extra: object) -> Case:
    """Take and sign a review with prescriptions and guides, and return the fresh case."""
    case = services.take_for_review(by=by, case=case, expected_version=case.version)
    fields = {**WRITTEN, "guides": ["eczema-care", "hives"], "outcome": outcome, **extra}
    services.sign_review(
        by=by,
        case=case,
        expected_version=case.version,
        diagnoses=[ECZEMA],
        prescriptions=[
            services.PrescriptionLine(
                drug="Mometasone cream",
                strength="0.1 %",
                dosage="a thin layer once a day",
                duration="two weeks",
                instructions="Then every other day for a week.",
            )
        ],
        **fields,  # type: ignore[arg-type]
    )
    return Case.objects.select_related("patient").get(pk=case.pk)


def set_language(case: Case, language: str) -> None:
    case.patient.preferred_language = language
    case.patient.save(update_fields=["preferred_language"])


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_there_is_no_summary_before_an_answer(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)
    assert summary.build_summary(case) is None
    taken = services.take_for_review(by=dermatologist, case=case, expected_version=case.version)
    services.save_draft(
        by=dermatologist, case=taken, expected_version=taken.version, advice="Not yet signed"
    )
    assert summary.build_summary(case) is None, "a draft is not shown to the patient"


def test_a_signed_review_gives_the_patient_its_plain_words(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = sign(make_case(submit=True), dermatologist)
    set_language(case, "en")
    result = summary.build_summary(case)
    assert result is not None
    assert (result.source, result.language) == ("review", "en")
    assert result.diagnosis == "Hand eczema"
    assert result.advice == WRITTEN["advice"]
    assert result.safety_net == WRITTEN["safety_net"]
    assert [p.name for p in result.prescriptions] == ["Mometasone cream 0.1 %"]
    assert result.prescriptions[0].duration == "two weeks"
    assert [g.slug for g in result.guides] == ["eczema-care", "hives"]
    assert result.answered_by == dermatologist.full_name
    assert "113" in result.emergency and "116117" in result.emergency
    assert result.next_steps == ("No appointment is needed. Follow the advice above.",)


def test_the_summary_is_in_the_patients_language(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = sign(make_case(submit=True), dermatologist)
    set_language(case, "nb")
    result = summary.build_summary(case)
    assert result is not None
    assert result.language == "nb"
    assert [g.title for g in result.guides] == ["Stell av eksem", "Elveblest (urtikaria)"]


def test_a_referral_says_where_and_roughly_when(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = make_case(submit=True)
    case = services.take_for_review(by=dermatologist, case=case, expected_version=case.version)
    services.sign_review(
        by=dermatologist,
        case=case,
        expected_version=case.version,
        referral=services.ReferralDetails(
            priority="urgent",
            receiver="Hudavdelingen, UNN Tromsø",
            reason="Suspected melanoma, 7-point score 4.",
            pathway="pk_melanoma",
        ),
        diagnoses=[ECZEMA],
        outcome="referral",
        **WRITTEN,
    )
    set_language(case, "en")
    result = summary.build_summary(case)
    assert result is not None
    steps = " ".join(result.next_steps)
    assert "Hudavdelingen, UNN Tromsø" in steps
    assert "cancer patient pathway (pakkeforløp)" in steps
    assert "10 working days" in steps
    assert "Suspected melanoma" not in steps, "the referral's reason is for professionals"


def test_a_video_request_is_explained(make_case: Callable[..., Case], dermatologist: User) -> None:
    case = make_case(submit=True)
    case = services.take_for_review(by=dermatologist, case=case, expected_version=case.version)
    services.sign_review(
        by=dermatologist,
        case=case,
        expected_version=case.version,
        video_reason="To look at the rash on your back together.",
        outcome="video",
        **WRITTEN,
    )
    set_language(case, "en")
    result = summary.build_summary(case)
    assert result is not None
    assert "video consultation" in result.next_steps[0]
    assert "To look at the rash on your back together." in result.next_steps[1]


def test_a_nurses_self_care_close_gives_a_summary(
    make_case: Callable[..., Case], duty_nurse: User
) -> None:
    case = make_case(submit=True)
    triage_services.advise_self_care(
        by=duty_nurse,
        case=case,
        expected_version=case.version,
        text="This looks like athlete's foot. Use an antifungal cream.",
        guides=["fungal-infections"],
    )
    set_language(case, "en")
    result = summary.build_summary(case)
    assert result is not None
    assert result.source == "self_care"
    assert result.advice == "This looks like athlete's foot. Use an antifungal cream."
    assert [g.slug for g in result.guides] == ["fungal-infections"]
    assert result.answered_by == duty_nurse.full_name
    assert result.prescriptions == ()


def test_the_pdf_holds_the_answer_and_the_guides_in_the_patients_language(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = sign(make_case(submit=True), dermatologist)
    set_language(case, "nb")
    result = summary.build_summary(case)
    assert result is not None
    links = [(guide, f"https://telederm.example/guides/{guide.slug}/") for guide in result.guides]
    pdf = summary.render_pdf(result, context={"case": case, "guide_links": links})
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 3, "each guide starts on a page of its own"
    text = pdf_text(pdf)
    assert "Hand eczema" in text
    assert "Mometasone cream 0.1 %" in text
    assert "Stell av eksem" in text and "Når du bør søke hjelp igjen" in text
    assert "116117" in text
    assert f"1 / {len(reader.pages)}" in text, "pages are numbered"
    assert "Lichenified" not in text and "patch testing" not in text, "no clinical notes"


def test_the_pdf_in_english(make_case: Callable[..., Case], dermatologist: User) -> None:
    case = sign(make_case(submit=True), dermatologist)
    set_language(case, "en")
    result = summary.build_summary(case)
    assert result is not None
    text = pdf_text(summary.render_pdf(result, context={"guide_links": []}))
    assert "What it probably is" in text and "When to seek help again" in text
    assert "Stell av eksem" not in text


def test_the_pdf_uses_the_declared_font(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    case = sign(make_case(submit=True), dermatologist)
    result = summary.build_summary(case)
    assert result is not None
    reader = PdfReader(io.BytesIO(summary.render_pdf(result, context={"guide_links": []})))
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert fonts and all("DejaVu" in font for font in fonts)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/track.png",
        "http://telederm.invalid/static/review/print.css",
        "file:///etc/passwd",
        "https://telederm.invalid/static/../settings.py",
        "https://telederm.invalid/media/photos/x.jpg",
        "data:text/css,body{}",
    ],
)
def test_the_pdf_fetches_nothing_but_our_static_files(url: str) -> None:
    with pytest.raises(ValueError):
        summary.StaticOnlyFetcher().fetch(url)


def test_the_pdf_may_fetch_its_stylesheet() -> None:
    response = summary.StaticOnlyFetcher().fetch("https://telederm.invalid/static/review/print.css")
    assert isinstance(response, URLFetcherResponse)
    assert response.content_type == "text/css"
    assert b"@page" in response.read()


def test_the_short_answer_path_gives_a_summary_too(
    make_case: Callable[..., Case], dermatologist: User
) -> None:
    # The short answer path (`answer_case`) is enough for a summary, with no guides.
    case = make_case(submit=True)
    answer(case, dermatologist, take=True)
    result = summary.build_summary(case)
    assert result is not None
    assert result.guides == () and result.advice == "Keep an eye on it."


def test_the_pdf_finds_collected_static_files_with_hashed_names(
    settings: Any, tmp_path: Path
) -> None:
    # In production `{% static %}` gives a hashed name that only exists under STATIC_ROOT.
    (tmp_path / "review").mkdir()
    (tmp_path / "review" / "print.0123abcd.css").write_text("@page { size: A4 }")
    settings.STATIC_ROOT = tmp_path
    response = summary.StaticOnlyFetcher().fetch(
        "https://telederm.invalid/static/review/print.0123abcd.css"
    )
    assert response.read() == b"@page { size: A4 }"


def test_fixed_wording_is_chosen_in_the_patients_language_whoever_asks(
    make_case: Callable[..., Case], dermatologist: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The .po files are the lead's; this checks the switch they rely on, not a translation.
    case = sign(make_case(submit=True), dermatologist)
    set_language(case, "nb")
    seen: list[str | None] = []
    monkeypatch.setattr(summary, "emergency_line", lambda: seen.append(get_language()) or "")
    with translation.override("en"):
        summary.build_summary(case)
        assert get_language() == "en"
    assert seen == ["nb"]
