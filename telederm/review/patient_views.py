"""What the patient gets: the public self-care guides, and the answer summary of a case."""

from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from telederm.accounts.models import User
from telederm.audit.services import record
from telederm.cases import access
from telederm.cases import policies as case_policies
from telederm.cases.models import Case
from telederm.cases.services import open_case
from telederm.review import guides, policies
from telederm.review.summary import Summary, build_summary, emergency_line, render_pdf


def _guide_language(request: HttpRequest) -> tuple[str, str]:
    """The language to show guides in, and the `?lang=` to keep on links between them.

    An answer summary links its guides with `?lang=` set to the patient's language, so that a
    guide opens in the language of the summary, not of the browser it is read in. Without it (or
    with a language the library does not hold), the page's own language.
    """
    asked = request.GET.get("lang", "")
    if asked in guides.LANGUAGES:
        return asked, asked
    return guides.normalise_language(get_language()), ""


@require_GET
def guide_list(request: HttpRequest) -> HttpResponse:
    # Public: the guides are general advice with no patient data, so no sign-in and no access log.
    language, lang_param = _guide_language(request)
    return render(
        request,
        "review/guide_list.html",
        {
            "guides": guides.all_guides(language),
            "emergency": emergency_line(),
            "lang_param": lang_param,
        },
    )


@require_GET
def guide(request: HttpRequest, slug: str) -> HttpResponse:
    language, lang_param = _guide_language(request)
    try:
        the_guide = guides.get(slug, language)
    except guides.UnknownGuide as exc:
        raise Http404 from exc
    return render(
        request,
        "review/guide.html",
        {"guide": the_guide, "emergency": emergency_line(), "lang_param": lang_param},
    )


def _open_summary(request: HttpRequest, case_uuid: uuid.UUID) -> tuple[User, Case, Summary]:
    """The case and its summary for someone who may see them, with the read logged; else 404.

    The policy and the summary are checked before `open_case` logs the read, so that a case with
    no answer yet is not logged as seen, and another patient's case looks just like a missing one.
    """
    person = request.user
    if not isinstance(person, User):
        raise Http404
    case = Case.objects.select_related("patient").filter(uuid=case_uuid).first()
    if case is None or not case_policies.can_view_case(person, case):
        raise Http404
    summary = build_summary(case)
    if summary is None:
        raise Http404
    case = open_case(by=person, case_uuid=case_uuid, request=request)
    return person, case, summary


def _guide_links(
    request: HttpRequest, summary: Summary, *, absolute: bool
) -> list[tuple[guides.Guide, str]]:
    links = []
    for guide in summary.guides:
        # In the summary's language (the patient's), whatever the reader's browser prefers.
        url = reverse("answers:guide", args=[guide.slug]) + f"?lang={summary.language}"
        links.append((guide, request.build_absolute_uri(url) if absolute else url))
    return links


@login_required
@require_GET
def summary(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    person, case, the_summary = _open_summary(request, case_uuid)
    return render(
        request,
        "review/summary.html",
        {
            "case": case,
            "summary": the_summary,
            "guide_links": _guide_links(request, the_summary, absolute=False),
            # The clinician reads the patient's words; tell them which language those are in.
            "show_language_note": case.patient.user_id != person.pk,
            "in_clinic": policies.can_use_clinic(person),
        },
    )


@login_required
@require_GET
def summary_pdf(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    person, case, the_summary = _open_summary(request, case_uuid)
    pdf = render_pdf(
        the_summary,
        context={
            "case": case,
            "guide_links": _guide_links(request, the_summary, absolute=True),
        },
    )
    # open_case logged the read; the download gets an entry of its own, with the same basis, so
    # the patient's access log shows who took a copy away.
    basis, reason = access.access_for_log(person, case) or ("", "")
    record(
        actor=person,
        action="case.summary.download",
        patient=case.patient,
        case=case,
        request=request,
        basis=basis,
        reason=reason,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{the_summary.filename}"'
    # Never kept by a browser or proxy cache: it is health information.
    response["Cache-Control"] = "private, no-store"
    return response
