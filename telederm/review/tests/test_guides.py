"""The self-care guide library: every guide in both languages, alike in shape, safely rendered."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telederm.review import guides


@pytest.mark.parametrize("slug", guides.SLUGS)
@pytest.mark.parametrize("language", guides.LANGUAGES)
def test_every_guide_is_written_in_every_language(slug: str, language: str) -> None:
    guide = guides.get(slug, language)
    assert (guide.slug, guide.language, guide.is_fallback) == (slug, language, False)
    assert guide.title and guide.summary
    assert guide.reviewed_on <= dt.date(2030, 1, 1)
    assert len(guide.sources) >= 2


@pytest.mark.parametrize("slug", guides.SLUGS)
def test_both_languages_have_the_same_headings_structure(slug: str) -> None:
    english, bokmal = guides.get(slug, "en"), guides.get(slug, "nb")
    assert [level for level, _ in english.headings] == [level for level, _ in bokmal.headings]
    assert len(english.headings) >= 3
    # The same number of advice points, so one language has not dropped a piece of advice.
    assert english.body_html.count("<li>") == bokmal.body_html.count("<li>")


@pytest.mark.parametrize("slug", guides.SLUGS)
@pytest.mark.parametrize("language", guides.LANGUAGES)
def test_every_guide_says_when_to_seek_help_again(slug: str, language: str) -> None:
    guide = guides.get(slug, language)
    last_heading = guide.headings[-1][1].lower()
    assert ("seek help" in last_heading) if language == "en" else ("hjelp" in last_heading)


def test_the_library_lists_every_slug_in_order() -> None:
    assert [guide.slug for guide in guides.all_guides("en")] == list(guides.SLUGS)
    assert all(guide.language == "nb" for guide in guides.all_guides("nb"))


def test_an_unknown_slug_is_a_clear_error() -> None:
    with pytest.raises(guides.UnknownGuide, match="no-such-guide"):
        guides.get("no-such-guide", "en")


def test_a_slug_is_never_used_as_a_path() -> None:
    with pytest.raises(guides.UnknownGuide):
        guides.get("../../settings", "en")


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ("en", "en"),
        ("en-gb", "en"),
        ("nb", "nb"),
        ("nn", "nb"),
        ("no", "nb"),
        ("se", "nb"),
        (None, "nb"),
    ],
)
def test_languages_are_mapped_to_the_library(asked: str | None, expected: str) -> None:
    assert guides.normalise_language(asked) == expected


def test_a_missing_translation_falls_back_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "nb").mkdir()
    (tmp_path / "en").mkdir()
    (tmp_path / "nb" / "acne.md").write_text(
        "---\ntitle: Kviser\nsummary: Om kviser.\nreviewed: 2026-01-02\n"
        "sources:\n  - NEL\n---\n## Hva det er\n\nTekst.\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(guides, "GUIDE_DIR", tmp_path)
    guide = guides.get("acne", "en")
    assert (guide.language, guide.requested_language, guide.is_fallback) == ("nb", "en", True)
    assert guide.title == "Kviser"
    with pytest.raises(guides.UnknownGuide):
        guides.get("scabies", "en")


def test_rendering_keeps_only_the_small_tag_set() -> None:
    html = guides.render(
        "## Heading\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) "
        '[ok](https://www.helsenorge.no/) <img src="https://evil.example/x.png"> *em*'
    )
    assert "<script" not in html and "<img" not in html and "javascript:" not in html
    assert '<a href="https://www.helsenorge.no/" rel="noopener noreferrer">ok</a>' in html
    assert "<h2>Heading</h2>" in html and "<em>em</em>" in html


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("<>/=\"' abcdefhjklmnoprstuvwxyz:()[]!*#-\n")), max_size=200
    )
)
def test_nothing_rendered_can_carry_script_or_remote_content(text: str) -> None:
    html = guides.render(text + "<script>x</script><img src=x onerror=y>").lower()
    assert "<script" not in html and "<img" not in html and "onerror" not in html
    for tag in re.findall(r"<([a-z0-9]+)([^>]*)>", html):
        assert tag[0] in guides.ALLOWED_TAGS
        assert set(re.findall(r'\s([a-z-]+)="', tag[1])) <= {"href", "rel"}


def test_the_slugs_others_store_are_the_librarys() -> None:
    # Reviews and self-care messages check slugs against their own lists; all must agree.
    from telederm.review.services import GUIDE_SLUGS as REVIEW_SLUGS
    from telederm.triage.messages import GUIDE_SLUGS as TRIAGE_SLUGS

    assert set(guides.SLUGS) == set(REVIEW_SLUGS) == set(TRIAGE_SLUGS)
