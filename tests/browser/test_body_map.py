"""The body map and the compare viewer in Chromium: mouse, touch, keyboard, axe, and the CSP.

The partials are rendered by Django with a small form and fake photos, and served from a made-up
origin through Playwright's network interception, under the production Content-Security-Policy:
a style attribute or an inline script in them would be reported as a violation here. No database
and no live server are needed.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from django import forms
from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import formats, translation
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Locator, Page, Route, expect

from telederm.photos import sites
from tests.browser.conftest import ARTIFACTS, check_accessibility

pytestmark = pytest.mark.browser

ORIGIN = "http://telederm.test"
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""
SHOULDER, NOSE, BUTTOCK, NAILS, NECK = "76552005", "113179006", "22180002", "770809003", "11584001"


class LesionSiteForm(forms.Form):
    """The two fields the body map draws, as the lesion form has them."""

    body_site = forms.ChoiceField(label="Where on the body", choices=())
    laterality = forms.ChoiceField(
        label="Side",
        choices=[("left", "Left"), ("right", "Right"), ("midline", "Middle of the body")],
        widget=forms.RadioSelect,
        help_text="The person's own left or right.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["body_site"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Choose a body site"), *sites.choices()]


def policy() -> str:
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def document(title: str, body: str, script: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/static/core/telederm.css">
<link rel="stylesheet" href="/static/photos/photos.css">
<script src="/static/photos/{script}" defer></script>
</head><body><main id="main" class="wrap"><h1>{title}</h1>{body}</main></body></html>"""


def body_map_page() -> str:
    with translation.override("en"):
        form = LesionSiteForm()
        partial = render_to_string(
            "photos/_body_map.html",
            {"field": form["body_site"], "laterality_field": form["laterality"]},
        )
    form_html = (
        f'<form method="post" novalidate class="card">{partial}'
        '<button type="submit">Add</button></form>'
    )
    return document("Where is it?", form_html, "bodymap.js")


def photo(size: tuple[int, int], grown: int) -> bytes:
    """A skin-coloured photo with a mole that grows from one date to the next, and a scale."""
    width, height = size
    image = Image.new("RGB", size, (222, 184, 160))
    draw = ImageDraw.Draw(image)
    for x in range(0, width, width // 10):
        draw.line(
            [(x, height - height // 12), (x, height)], fill=(60, 60, 60), width=max(1, width // 400)
        )
    r = width * (0.06 + 0.03 * grown)
    cx, cy = width * 0.5, height * 0.45
    draw.ellipse([cx - r * 1.2, cy - r, cx + r * 1.2, cy + r], fill=(92 - grown * 15, 58, 44))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


DATES = ["2023-03-14", "2024-02-02", "2025-01-20"]


def shown(index: int) -> str:
    """A photo's date as the page shows it."""
    with translation.override("en"):
        return formats.date_format(dt.date.fromisoformat(DATES[index]), "DATE_FORMAT")


def compare_page(count: int = 3) -> str:
    columns = [
        {
            "url": f"/photos/{i}/screen.png",
            "full_url": f"/photos/{i}/full.png",
            "date": dt.date.fromisoformat(DATES[i]),
            "kind": "Close-up",
            "this_case": i == count - 1,
        }
        for i in range(count)
    ]
    with translation.override("en"):
        partial = render_to_string("photos/_compare.html", {"columns": columns})
    return document("Compare: Upper back, left", partial, "compare.js")


class Site:
    """A page served from ORIGIN under the production CSP; photo requests are counted."""

    def __init__(self, page: Page, html: str) -> None:
        self.page = page
        self.html = html
        self.requests: list[str] = []
        self.photos = {
            f"/photos/{i}/{size}.png": photo((800, 600) if size == "screen" else (1600, 1200), i)
            for i in range(3)
            for size in ("screen", "full")
        }
        page.add_init_script(LISTEN)
        page.route(f"{ORIGIN}/**", self._serve)

    def _serve(self, route: Route) -> None:
        path = urlparse(route.request.url).path
        self.requests.append(path)
        if path == "/":
            route.fulfill(
                body=self.html,
                content_type="text/html; charset=utf-8",
                headers={"Content-Security-Policy": policy()},
            )
        elif path.startswith("/static/") and (found := finders.find(path.removeprefix("/static/"))):
            route.fulfill(path=str(found))
        elif path in self.photos:
            route.fulfill(body=self.photos[path], content_type="image/png")
        else:
            route.fulfill(status=404, body="not found")

    def open(self) -> Page:
        self.page.goto(ORIGIN + "/")
        self.page.wait_for_load_state("load")
        return self.page

    def assert_no_violations(self) -> None:
        assert self.page.evaluate("window.__cspViolations") == []


@pytest.fixture
def no_javascript(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="en-GB", java_script_enabled=False
    )
    yield context.new_page()
    context.close()


@pytest.fixture
def serve() -> Callable[[Page, str], Site]:
    return Site


def shot(page: Page, name: str, locator: Locator | None = None) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / f"{name}.png"
    if locator is None:
        page.screenshot(path=str(target), full_page=True)
    else:
        locator.screenshot(path=str(target))


def centre_x(locator: Locator) -> float:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2


def region(page: Page, name: str) -> Locator:
    """A region of the picture in view, by its accessible name."""
    return page.locator(".bodymap-view:not([hidden])").get_by_role("button", name=name, exact=True)


# ------------------------------------------------------------------------------------ body map


def test_without_javascript_the_body_site_is_a_list_and_radio_buttons(
    no_javascript: Page, serve: Callable[[Page, str], Site]
) -> None:
    page = serve(no_javascript, body_map_page()).open()
    expect(page.locator("[data-bodymap-picture]")).to_be_hidden()
    page.get_by_label("Where on the body").select_option(label="Nose")
    page.get_by_role("group", name="Side").get_by_label("Middle of the body").check()
    expect(page.get_by_label("Where on the body")).to_have_value(NOSE)
    shot(page, "body-map-no-javascript-phone")


def test_tapping_the_picture_sets_the_site_and_the_persons_own_side(
    phone: Page, serve: Callable[[Page, str], Site]
) -> None:
    site = serve(phone, body_map_page())
    page = site.open()
    select = page.get_by_label("Where on the body")
    expect(select).to_have_value("")
    front = page.locator('[data-view="front"] svg')

    # Seen from the front, the person's left shoulder is on the viewer's right.
    left_shoulder = region(page, "Shoulder, left")
    assert centre_x(left_shoulder) > centre_x(front)
    left_shoulder.tap()
    expect(select).to_have_value(SHOULDER)
    expect(page.get_by_label("Left", exact=True)).to_be_checked()
    expect(left_shoulder).to_have_attribute("aria-pressed", "true")
    expect(region(page, "Shoulder, right")).to_have_class("is-same-site")

    # From the back it is on the viewer's left, and still the chosen one.
    page.get_by_role("button", name="Back", exact=True).tap()
    expect(page.locator('[data-view="back"]')).to_be_visible()
    expect(page.locator('[data-view="front"]')).to_be_hidden()
    back_left_shoulder = region(page, "Shoulder, left")
    assert centre_x(back_left_shoulder) < centre_x(page.locator('[data-view="back"] svg'))
    expect(back_left_shoulder).to_have_attribute("aria-pressed", "true")
    region(page, "Buttock, right").tap()
    expect(select).to_have_value(BUTTOCK)
    expect(page.get_by_label("Right", exact=True)).to_be_checked()
    site.assert_no_violations()


def test_the_picture_works_from_the_keyboard(
    desktop: Page, serve: Callable[[Page, str], Site]
) -> None:
    site = serve(desktop, body_map_page())
    page = site.open()
    page.get_by_role("button", name="Hands and feet").click()
    # Tab from the last picture button into the picture; its regions are buttons in reading order.
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused == "Fingers, right"
    page.keyboard.press("Space")
    expect(page.get_by_label("Where on the body")).to_have_value("244169007")
    expect(page.get_by_label("Right", exact=True)).to_be_checked()

    region(page, "Fingernails, left").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Where on the body")).to_have_value(NAILS)
    expect(page.get_by_label("Left", exact=True)).to_be_checked()

    # The head in the front view opens the close-up, and the focus follows into it.
    page.get_by_role("button", name="Front", exact=True).click()
    page.get_by_role("button", name="Head and face: show a close-up").focus()
    page.keyboard.press("Enter")
    expect(page.locator('[data-view="head"]')).to_be_visible()
    expect(page.get_by_role("button", name="Head", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    assert page.evaluate("document.activeElement.closest('[data-view]').dataset.view") == "head"
    site.assert_no_violations()


def test_the_list_and_the_picture_stay_in_step(
    phone: Page, serve: Callable[[Page, str], Site]
) -> None:
    site = serve(phone, body_map_page())
    page = site.open()
    select = page.get_by_label("Where on the body")
    sides = page.get_by_role("group", name="Side")

    # A midline site takes the midline side by itself; left and right are not offered.
    select.select_option(label="Nose")
    expect(page.locator('[data-view="head"]')).to_be_visible()
    expect(sides.get_by_label("Middle of the body")).to_be_checked()
    expect(sides.get_by_label("Left", exact=True)).to_be_disabled()
    expect(region(page, "Nose")).to_have_attribute("aria-pressed", "true")

    # A paired site cannot keep the midline: the side is asked for again.
    select.select_option(label="Buttock")
    expect(page.locator('[data-view="back"]')).to_be_visible()
    expect(sides.get_by_label("Middle of the body")).to_be_disabled()
    expect(sides.locator("input:checked")).to_have_count(0)
    sides.get_by_label("Left", exact=True).check()
    expect(region(page, "Buttock, left")).to_have_attribute("aria-pressed", "true")

    # A broad site takes any side; choosing the shoulder keeps the back view that shows it.
    select.select_option(label="Front of the neck")
    expect(page.locator('[data-view="front"]')).to_be_visible()
    expect(sides.get_by_label("Left", exact=True)).to_be_checked()
    sides.get_by_label("Middle of the body").check()
    expect(page.locator(f'[data-view="front"] [data-site="{NECK}"].is-same-site')).to_have_count(2)
    site.assert_no_violations()


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_the_body_map_is_accessible(
    device: str, request: pytest.FixtureRequest, serve: Callable[[Page, str], Site]
) -> None:
    page: Page = request.getfixturevalue(device)
    site = serve(page, body_map_page())
    site.open()
    region(page, "Shoulder, left").click()
    check_accessibility(page, f"body-map-{device}")
    picture = page.locator("[data-bodymap-picture]")
    for view, button in (("back", "Back"), ("head", "Head"), ("hands_feet", "Hands and feet")):
        page.get_by_role("button", name=button, exact=True).click()
        shot(page, f"body-map-{view}-{device}", picture)
    site.assert_no_violations()


# ------------------------------------------------------------------------------ compare viewer


def transforms(page: Page) -> list[str]:
    return page.eval_on_selector_all(".compare-layer", "els => els.map(el => el.style.transform)")


def test_without_javascript_the_photos_stand_side_by_side(
    no_javascript: Page, serve: Callable[[Page, str], Site]
) -> None:
    page = serve(no_javascript, compare_page()).open()
    expect(page.locator("[data-compare-viewer]")).to_be_hidden()
    photos = page.locator(".compare-list img")
    expect(photos).to_have_count(3)
    expect(photos.first).to_have_attribute("alt", f"Photo from {shown(0)}: Close-up")
    expect(page.locator(".compare-list figcaption").last).to_have_text(
        f"{shown(2)} · Close-up · this case"
    )
    shot(page, "compare-no-javascript-phone")


def test_zoom_and_pan_move_both_photos_together(
    desktop: Page, serve: Callable[[Page, str], Site]
) -> None:
    site = serve(desktop, compare_page())
    page = site.open()
    expect(page.locator(".compare-list")).to_be_hidden()
    panes = page.locator(".compare-layer img")
    expect(panes.nth(0)).to_have_attribute("src", "/photos/0/screen.png")
    expect(panes.nth(1)).to_have_attribute("src", "/photos/2/screen.png")
    page.wait_for_function(
        "Array.from(document.querySelectorAll('.compare-layer img')).every(i => i.naturalWidth)"
    )

    page.get_by_role("button", name="Zoom in").click()
    expect(page.locator("[data-zoom-level]")).to_have_text("150%")
    a, b = transforms(page)
    assert a == b and "scale(1.5)" in a

    stage = page.get_by_role("group", name="The photos being compared")
    stage.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    a, b = transforms(page)
    assert a == b == "translate(-35%, -35%) scale(1.5)"

    # Dragging one photo moves both.
    frame = page.locator(".compare-frame").first
    box = frame.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(
        box["x"] + box["width"] / 2 + box["width"] * 0.2, box["y"] + box["height"] / 2, steps=4
    )
    page.mouse.up()
    a, b = transforms(page)
    assert a == b and a.startswith("translate(-15%")

    # Closer than 175 %, the full-size files are fetched, and only then.
    assert not any(path.endswith("full.png") for path in site.requests)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)
    expect(panes.nth(0)).to_have_attribute("src", "/photos/0/full.png")
    expect(panes.nth(1)).to_have_attribute("src", "/photos/2/full.png")
    a, b = transforms(page)
    assert a == b and "scale(1.5)" not in a

    page.get_by_role("button", name="Reset").click()
    assert transforms(page) == ["translate(0%, 0%) scale(1)"] * 2
    expect(page.get_by_role("button", name="Zoom out")).to_be_disabled()
    site.assert_no_violations()


def test_the_slider_lays_the_later_photo_over_the_earlier(
    phone: Page, serve: Callable[[Page, str], Site]
) -> None:
    site = serve(phone, compare_page())
    page = site.open()
    page.get_by_role("button", name="Slider").tap()
    divider = page.get_by_label("Divider: the earlier photo is to its left, the later to its right")
    expect(divider).to_be_visible()
    later = page.locator('[data-pane="b"] .compare-frame')

    divider.fill("25")
    expect(later).to_have_css("clip-path", "inset(0px 0px 0px 25%)")
    assert page.locator("[data-divider]").evaluate("el => el.style.left") == "25%"
    divider.focus()
    page.keyboard.press("ArrowRight")
    expect(later).to_have_css("clip-path", "inset(0px 0px 0px 26%)")

    # At full view, dragging across the photo moves the divider.
    frame = page.locator('[data-pane="a"] .compare-frame')
    box = frame.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.5, steps=3)
    page.mouse.up()
    expect(divider).to_have_value("75")
    expect(page.locator('[data-tag="a"]')).to_have_text(shown(0))
    expect(page.locator('[data-tag="b"]')).to_have_text(shown(2))
    shot(page, "compare-slider-dragged-phone")
    site.assert_no_violations()


PINCH = """([x1, y1, x2, y2, spread]) => {
  const frame = document.querySelector('[data-pane="a"] .compare-frame');
  const fire = (type, id, x, y) => frame.dispatchEvent(new PointerEvent(type, {
    pointerId: id, pointerType: "touch", clientX: x, clientY: y, bubbles: true, isPrimary: id === 1,
  }));
  fire("pointerdown", 1, x1, y1);
  fire("pointerdown", 2, x2, y2);
  for (let step = 1; step <= 4; step++) {
    fire("pointermove", 1, x1 - spread * step / 4, y1);
    fire("pointermove", 2, x2 + spread * step / 4, y2);
  }
  fire("pointerup", 1, x1 - spread, y1);
  fire("pointerup", 2, x2 + spread, y2);
}"""


def test_two_fingers_pinch_both_photos_closer(
    phone: Page, serve: Callable[[Page, str], Site]
) -> None:
    site = serve(phone, compare_page())
    page = site.open()
    box = page.locator('[data-pane="a"] .compare-frame').bounding_box()
    assert box is not None
    middle_x, middle_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # Fingers 60 px apart spread to 120 px: twice as close.
    page.evaluate(PINCH, [middle_x - 30, middle_y, middle_x + 30, middle_y, 30])
    expect(page.locator("[data-zoom-level]")).to_have_text("200%")
    a, b = transforms(page)
    assert a == b and "scale(2)" in a
    expect(page.locator("[data-stage]")).to_have_class(re.compile(r"\bis-zoomed\b"))
    site.assert_no_violations()


def test_two_dates_are_chosen_from_more(desktop: Page, serve: Callable[[Page, str], Site]) -> None:
    site = serve(desktop, compare_page())
    page = site.open()
    panes = page.locator(".compare-layer img")
    page.get_by_label("First photo").select_option(label=f"{shown(1)} · Close-up")
    expect(panes.nth(0)).to_have_attribute("src", "/photos/1/screen.png")
    # Chosen the wrong way round, the earlier still goes on the left.
    page.get_by_label("Second photo").select_option(label=f"{shown(0)} · Close-up")
    expect(panes.nth(0)).to_have_attribute("src", "/photos/0/screen.png")
    expect(panes.nth(1)).to_have_attribute("src", "/photos/1/screen.png")
    expect(page.locator('[data-pane="b"] [data-pane-full]')).to_have_attribute(
        "href", "/photos/1/full.png"
    )
    site.assert_no_violations()


def test_two_photos_need_no_date_choice(desktop: Page, serve: Callable[[Page, str], Site]) -> None:
    page = serve(desktop, compare_page(count=2)).open()
    expect(page.get_by_label("First photo")).to_have_count(0)
    expect(page.locator(".compare-layer img").nth(1)).to_have_attribute(
        "src", "/photos/1/screen.png"
    )


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_the_compare_viewer_is_accessible(
    device: str, request: pytest.FixtureRequest, serve: Callable[[Page, str], Site]
) -> None:
    page: Page = request.getfixturevalue(device)
    site = serve(page, compare_page())
    site.open()
    page.wait_for_function(
        "Array.from(document.querySelectorAll('.compare-layer img')).every(i => i.naturalWidth)"
    )
    check_accessibility(page, f"compare-side-by-side-{device}")
    page.get_by_role("button", name="Slider").click()
    page.get_by_role("button", name="Zoom in").click()
    check_accessibility(page, f"compare-slider-{device}")
    site.assert_no_violations()
