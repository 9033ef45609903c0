"""Body sites: real SNOMED CT identifiers, the side rules, and a body map that draws every site.

No database: the site list is pure data, and the partials render from a plain form.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from html.parser import HTMLParser
from typing import Any

import pytest
from django import forms
from django.template.loader import render_to_string
from django.utils import translation

from telederm.photos import sites

SHOULDER, NOSE, CHEST, BUTTOCK = "76552005", "113179006", "244106003", "22180002"

# Verhoeff's dihedral check, which every SNOMED CT identifier carries in its last digit
# (SNOMED CT Technical Implementation Guide, "Check-digit computation").
_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]


def is_sctid_of_a_concept(code: str) -> bool:
    if not (code.isdigit() and 6 <= len(code) <= 18) or code.startswith("0"):
        return False
    check = 0
    for position, digit in enumerate(reversed(code)):
        check = _D[check][_P[position % 8][int(digit)]]
    # The partition identifier: 00 is a concept of the international release, 10 of an extension.
    return check == 0 and code[-3:-1] in {"00", "10"}


@pytest.mark.parametrize("code", ["404684003", "138875005", "7771000", "24028007"])
def test_the_check_accepts_known_identifiers(code: str) -> None:
    assert is_sctid_of_a_concept(code)


@pytest.mark.parametrize("code", ["404684004", "43067040", "4306700", "abc", "0123456"])
def test_the_check_refuses_a_mistyped_identifier(code: str) -> None:
    assert not is_sctid_of_a_concept(code)


@pytest.mark.parametrize("site", sites.SITES, ids=lambda site: site.term)
def test_every_site_is_a_snomed_concept_that_fits_the_column(site: sites.BodySite) -> None:
    assert is_sctid_of_a_concept(site.code)
    assert len(site.code) <= 20  # Lesion.body_site
    assert site.term.startswith(("Skin of ", "Nail unit of ", "Structure of "))
    assert set(site.source.split()) <= {"D", "W", "B", "S"}


def test_the_side_qualifiers_are_snomed_concepts_too() -> None:
    assert all(is_sctid_of_a_concept(code) for code in sites.LATERALITY_SNOMED.values())


def test_the_list_is_a_usable_length_with_no_duplicates() -> None:
    codes = [site.code for site in sites.SITES]
    assert 25 <= len(codes) <= 40
    assert len(set(codes)) == len(codes)
    assert len({str(site.label) for site in sites.SITES}) == len(codes)


@pytest.mark.parametrize("site", sites.SITES, ids=lambda site: site.term)
def test_every_site_has_sides_views_and_a_region(site: sites.BodySite) -> None:
    assert site.sides in (sites.PAIRED, sites.MIDLINE_ONLY, sites.ANY_SIDE)
    assert site.views and set(site.views) <= set(sites.VIEWS)
    assert site.region in sites.REGIONS


@pytest.mark.parametrize(
    ("code", "laterality", "valid"),
    [
        (SHOULDER, "left", True),
        (SHOULDER, "right", True),
        (SHOULDER, "midline", False),
        (NOSE, "midline", True),
        (NOSE, "left", False),
        (CHEST, "left", True),
        (CHEST, "right", True),
        (CHEST, "midline", True),
        (SHOULDER, "", False),
        (SHOULDER, "Left", False),
        ("back", "left", False),
        ("", "midline", False),
    ],
)
def test_which_sides_a_site_takes(code: str, laterality: str, valid: bool) -> None:
    assert sites.is_valid(code, laterality) is valid


def test_a_site_is_found_by_its_code() -> None:
    shoulder = sites.by_code(SHOULDER)
    assert shoulder is not None and shoulder.term == "Skin of shoulder" and shoulder.is_paired
    nose = sites.by_code(NOSE)
    assert nose is not None and nose.is_midline and not nose.is_paired
    assert sites.by_code("back") is None


def test_the_choices_run_head_to_toe_in_the_active_language() -> None:
    with translation.override("en"):
        choices = sites.choices()
        grouped = sites.grouped_choices()
    assert choices[0] == ("43067004", "Scalp")
    assert choices[-1] == ("770805009", "Toenails")
    assert all(isinstance(label, str) for _code, label in choices)
    assert [name for name, _group in grouped] == [
        "Head and neck",
        "Body",
        "Arms and hands",
        "Legs and feet",
    ]
    assert [choice for _name, group in grouped for choice in group] == choices


@pytest.mark.parametrize(
    ("code", "laterality", "words"),
    [
        (SHOULDER, "left", "Shoulder, left"),
        (BUTTOCK, "right", "Buttock, right"),
        (CHEST, "midline", "Chest, middle"),
        (NOSE, "midline", "Nose"),
        ("back", "left", "back"),
    ],
)
def test_a_site_and_side_in_words(code: str, laterality: str, words: str) -> None:
    with translation.override("en"):
        assert sites.describe(code, laterality) == words


# ------------------------------------------------------------------------------------ body map


class LesionSiteForm(forms.Form):
    body_site = forms.ChoiceField(label="Where on the body", choices=sites.choices)
    laterality = forms.ChoiceField(
        label="Side",
        choices=[("left", "Left"), ("right", "Right"), ("midline", "Middle of the body")],
        widget=forms.RadioSelect,
        help_text="The person's own left or right.",
    )


class Regions(HTMLParser):
    """The body map's regions, by view: {view: {site code: {sides}}}."""

    def __init__(self) -> None:
        super().__init__()
        self.view = ""
        self.drawn: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.root: dict[str, str | None] = {}
        self.attributes: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append(tag)
        self.attributes += [name for name, _value in attrs]
        if "data-body-map" in found:
            self.root = found
        if found.get("data-view"):
            self.view = str(found["data-view"])
        if found.get("data-site"):
            self.drawn[self.view][str(found["data-site"])].add(str(found["data-side"]))

    handle_startendtag = handle_starttag


def render_body_map(data: dict[str, str] | None = None) -> str:
    with translation.override("en"):
        form = LesionSiteForm(data)
        if data is not None:
            form.is_valid()
        return render_to_string(
            "photos/_body_map.html",
            {"field": form["body_site"], "laterality_field": form["laterality"]},
        )


@pytest.fixture(scope="module")
def body_map() -> Regions:
    parser = Regions()
    parser.feed(render_body_map())
    return parser


@pytest.mark.parametrize("site", sites.SITES, ids=lambda site: site.term)
def test_the_map_draws_each_site_in_its_views_and_on_its_sides(
    site: sites.BodySite, body_map: Regions
) -> None:
    views = {view for view, drawn in body_map.drawn.items() if site.code in drawn}
    assert views == set(site.views)
    for view in views:
        drawn = body_map.drawn[view][site.code]
        if site.is_midline:
            assert drawn == {"midline"}
        else:
            assert drawn == {"left", "right"}, f"{site.term} in {view}"


def test_the_map_knows_which_sites_take_which_sides(body_map: Regions) -> None:
    any_side = set(str(body_map.root["data-any-side"]).split())
    midline = set(str(body_map.root["data-midline"]).split())
    assert any_side == {site.code for site in sites.SITES if site.sides == sites.ANY_SIDE}
    assert midline == {site.code for site in sites.SITES if site.is_midline}
    # The words the script names regions with are the ones describe() uses.
    assert body_map.root["data-label-left"] == "%(site)s, left"
    assert body_map.root["data-label-right"] == "%(site)s, right"


def render_compare() -> str:
    columns = [
        {
            "url": f"/s/{i}",
            "full_url": f"/f/{i}",
            "date": dt.date(2024, 1 + i, 5),
            "kind": "Close-up",
        }
        for i in range(3)
    ]
    with translation.override("en"):
        return render_to_string("photos/_compare.html", {"columns": columns})


@pytest.mark.parametrize("render", [render_body_map, render_compare])
def test_the_partials_keep_to_the_content_security_policy(render: Any) -> None:
    parser = Regions()
    parser.feed(render())
    assert "script" not in parser.tags and "style" not in parser.tags
    assert "style" not in parser.attributes
    assert not [name for name in parser.attributes if name.startswith("on")]


def test_the_partials_are_light() -> None:
    assert len(render_body_map().encode()) < 30_000


def test_errors_are_shown_and_tied_to_their_fields() -> None:
    html = render_body_map({"body_site": NOSE, "laterality": "sideways"})
    assert 'id="id_laterality_error"' in html
    assert re.search(
        r'<fieldset id="id_laterality" aria-describedby="[^"]*id_laterality_error', html
    )
    html = render_body_map({"body_site": "nowhere", "laterality": "left"})
    assert 'id="id_body_site_error"' in html
    assert re.search(r'<select[^>]*aria-describedby="id_body_site_error"', html)
    assert re.search(
        r'<input type="radio" name="laterality" value="left" id="id_laterality_left" checked', html
    )


def test_the_compare_partial_lists_every_photo_with_its_date() -> None:
    html = render_compare()
    assert html.count('<li data-url="/s/') == 3
    assert 'href="/f/0"' in html
    assert '<time datetime="2024-01-05">' in html
    assert html.count("<option") == 6  # two date choices of three photos each
