"""What the patient gets: the public self-care guides, and the answer summary of a case."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from telederm.review import guides


@require_GET
def guide_list(request: HttpRequest) -> HttpResponse:
    # Public: the guides are general advice with no patient data, so no sign-in and no access log.
    language = guides.normalise_language(get_language())
    return render(request, "review/guide_list.html", {"guides": guides.all_guides(language)})


@require_GET
def guide(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        the_guide = guides.get(slug, get_language())
    except guides.UnknownGuide as exc:
        raise Http404 from exc
    return render(request, "review/guide.html", {"guide": the_guide})
