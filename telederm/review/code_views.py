"""Diagnosis code search for the clinic: an htmx fragment for the review workspace, and a small
page of its own that works without JavaScript. Code lists hold no patient data, so nothing is
written to the access log."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import Template
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from telederm.review import codes, policies

# The fragment and the page are one template: it extends this bare parent for htmx, the site's
# base page otherwise, so the list an htmx user sees is exactly the one without JavaScript.
FRAGMENT_PARENT = Template("{% block content %}{% endblock %}")
MAX_QUERY = 100
FRAGMENT_LIMIT = 20
PAGE_LIMIT = 50


@dataclass(frozen=True)
class Result:
    """One line of the result list: the code, its title and its category's title (so that
    "C44.0 Skin of lip" is not read as the benign "D23.0 Skin of lip")."""

    code: codes.Code
    title: str
    category: str


def _result(code: codes.Code, language: str) -> Result:
    # WHO's English subcategory titles can be bare ("Skin of lip"), so the category is shown
    # beside them unless the title already says it; only a confirmed title is shown (most bokmål
    # category titles are not, and the Norwegian subcategory texts name their category anyway).
    title = code.title(language)
    category = codes.parent(code)
    if category is None or (codes.is_nb(language) and not category.nb_verified):
        return Result(code=code, title=title, category="")
    said = codes.fold(category.title(language)) in codes.fold(title)  # "Psoriasis vulgaris"
    return Result(code=code, title=title, category="" if said else category.title(language))


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """GET ?q=…&system=icd10|icpc2|: matching codes, best first (ICD-10 and ICPC-2 if no system).

    An htmx request gets the result list alone (`review/_code_results.html`), for the workspace's
    diagnosis field to swap in; anyone else gets the search page with the same list.
    """
    if not policies.can_use_clinic(request.user):
        raise PermissionDenied
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    system = request.GET.get("system", "")
    if system not in codes.SYSTEMS:
        system = ""
    is_htmx = bool(getattr(request, "htmx", False))
    language = get_language() or "nb"
    results = codes.search(
        query,
        system=system or None,
        language=language,
        limit=FRAGMENT_LIMIT if is_htmx else PAGE_LIMIT,
    )
    context = {
        "query": query,
        "system": system,
        "systems": [(key, codes.SYSTEM_LABELS[key]) for key in codes.SYSTEMS],
        "results": [_result(code, language) for code in results],
        "show_nb_note": codes.is_nb(language),
        "pickable": is_htmx,
        "parent": FRAGMENT_PARENT if is_htmx else "core/base.html",
    }
    return render(request, "review/_code_results.html", context)
