"""The self-care guide library: Markdown files per language, read from disk and sanitised.

Each guide is `guides/<language>/<slug>.md`: a small front matter between `---` lines (`title`,
`summary`, `reviewed` as an ISO date, and `sources` as a list of `- ` lines), then the body in
Markdown. The slugs are a closed list: reviews and self-care messages store them, and a slug is
never turned into a path without being in that list (no path traversal).

Pure logic: no ORM, no Django settings; the views and the summary translate what is shown around it.
"""

from __future__ import annotations

import datetime
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import markdown  # type: ignore[import-untyped]  # no stubs; one call, str in and out
import nh3

GUIDE_DIR = Path(__file__).resolve().parent / "guides"

# Bokmål first: it is the service's default language and the fallback for any other.
LANGUAGES: tuple[str, ...] = ("nb", "en")
DEFAULT_LANGUAGE = "nb"

SLUGS: tuple[str, ...] = (
    "eczema-care",
    "acne",
    "fungal-infections",
    "sun-protection",
    "mole-self-check",
    "wound-care",
    "scabies",
    "psoriasis",
    "hives",
)

# What a guide may contain once rendered. No images, no raw HTML, no tables of tracking pixels:
# guides are text the clinic wrote, but they are sanitised anyway so a slip in a file cannot inject
# script into a page served under our origin.
ALLOWED_TAGS = {"h2", "h3", "p", "ul", "ol", "li", "strong", "em", "a", "br", "blockquote"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
ALLOWED_URL_SCHEMES = {"https", "tel"}

_HEADING = re.compile(r"<h([23])>(.*?)</h\1>", re.S)


class UnknownGuide(LookupError):
    """There is no guide with this slug."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"No self-care guide with slug {slug!r}; known slugs: {', '.join(SLUGS)}")
        self.slug = slug


class GuideFormatError(ValueError):
    """A guide file is missing its front matter or a required field."""


@dataclass(frozen=True)
class Guide:
    slug: str
    language: str
    title: str
    summary: str
    reviewed_on: datetime.date
    sources: tuple[str, ...]
    body_markdown: str
    body_html: str
    # The language that was asked for; differs from `language` when the guide fell back.
    requested_language: str

    @property
    def is_fallback(self) -> bool:
        return self.language != self.requested_language

    @property
    def headings(self) -> tuple[tuple[int, str], ...]:
        """The (level, text) of each heading, in order."""
        return tuple(
            (int(level), nh3.clean(text, tags=set()))
            for level, text in _HEADING.findall(self.body_html)
        )


def normalise_language(language: str | None) -> str:
    """Map a language code ('en-gb', 'no', 'nn', None) to one the library holds."""
    code = (language or "").lower().split("-")[0].split("_")[0]
    if code in LANGUAGES:
        return code
    if code in {"no", "nn"}:
        return "nb"
    return DEFAULT_LANGUAGE


def get(slug: str, language: str | None) -> Guide:
    """The guide in `language`, or in the other language (marked `is_fallback`) if not written yet.

    Raises `UnknownGuide` for a slug outside the library.
    """
    if slug not in SLUGS:
        raise UnknownGuide(slug)
    wanted = normalise_language(language)
    for candidate in (wanted, *(code for code in LANGUAGES if code != wanted)):
        path = GUIDE_DIR / candidate / f"{slug}.md"
        if path.is_file():
            return _load(path, slug, candidate, wanted)
    raise UnknownGuide(slug)


def all_guides(language: str | None) -> list[Guide]:
    """Every guide in the library, in `language` where written, in the library's order."""
    return [get(slug, language) for slug in SLUGS]


def known(slugs: list[str] | tuple[str, ...]) -> list[str]:
    """The slugs that are in the library, in the given order, without repeats."""
    seen: list[str] = []
    for slug in slugs:
        if slug in SLUGS and slug not in seen:
            seen.append(slug)
    return seen


@functools.cache
def _load(path: Path, slug: str, language: str, requested_language: str) -> Guide:
    raw = path.read_text(encoding="utf-8")
    meta, body = _split_front_matter(raw, path)
    for required in ("title", "summary", "reviewed", "sources"):
        if not meta.get(required):
            raise GuideFormatError(f"{path}: front matter lacks {required!r}")
    sources = meta["sources"]
    assert isinstance(sources, tuple)
    title, summary, reviewed = meta["title"], meta["summary"], meta["reviewed"]
    assert isinstance(title, str) and isinstance(summary, str) and isinstance(reviewed, str)
    return Guide(
        slug=slug,
        language=language,
        title=title,
        summary=summary,
        reviewed_on=datetime.date.fromisoformat(reviewed),
        sources=sources,
        body_markdown=body,
        body_html=render(body),
        requested_language=requested_language,
    )


def render(text: str) -> str:
    """Markdown to HTML, then sanitised to the small tag set guides may use."""
    html = markdown.markdown(text, output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


def _split_front_matter(raw: str, path: Path) -> tuple[dict[str, str | tuple[str, ...]], str]:
    lines = raw.splitlines()
    if not lines or lines[0].strip() != "---":
        raise GuideFormatError(f"{path}: must start with a '---' front matter block")
    try:
        end = lines.index("---", 1)
    except ValueError as exc:
        raise GuideFormatError(f"{path}: front matter is not closed with '---'") from exc
    meta: dict[str, str | tuple[str, ...]] = {}
    sources: list[str] = []
    for line in lines[1:end]:
        if not line.strip():
            continue
        if line.startswith("  - ") or line.startswith("- "):
            sources.append(line.strip()[2:].strip())
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise GuideFormatError(f"{path}: cannot read front matter line {line!r}")
        meta[key.strip()] = value.strip()
    meta["sources"] = tuple(sources)
    return meta, "\n".join(lines[end + 1 :]).strip() + "\n"
