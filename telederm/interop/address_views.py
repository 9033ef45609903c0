"""The address register for clinicians: finding a referral receiver's HER-id.

One URL, two answers: an htmx request (the review form's receiver field fills its `<datalist>`
with it) gets the `<option>`s; anyone else gets a page with a search form and a table, which
works without JavaScript and opens from the review form in a new tab. The register holds no
patient data, so nothing is access-logged.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from telederm.interop import addresses
from telederm.review.policies import can_use_clinic


@login_required
@require_GET
def referral_receivers(request: HttpRequest) -> HttpResponse:
    """Entries that take a referral, matching `?q=`, as datalist options or as a page."""
    if not can_use_clinic(request.user):
        raise PermissionDenied
    query = request.GET.get("q", "").strip()[:100]
    entries = addresses.referral_receivers(query)
    rows = [
        {
            "entry": entry,
            "label": addresses.receiver_label(entry),
            "parent": addresses.parent_of(entry),
        }
        for entry in entries
    ]
    template = (
        "interop/clinic/_receiver_options.html"
        if request.headers.get("HX-Request") == "true"
        else "interop/clinic/addresses.html"
    )
    return render(request, template, {"rows": rows, "query": query})
