"""Adding photos to a draft case, and serving photos to those allowed to see them."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from telederm.accounts.models import User
from telederm.cases import policies as case_policies
from telederm.cases.services import open_case
from telederm.core.errors import UserFacingError
from telederm.core.forms import posted, posted_files
from telederm.photos import services
from telederm.photos.forms import PhotoUploadForm
from telederm.photos.processing import PhotoRejected


def _person(request: HttpRequest) -> User:
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


@login_required
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    person = _person(request)
    case = open_case(by=person, case_uuid=case_uuid, request=request)
    if not case_policies.can_edit_draft(person, case):
        return redirect("cases:detail", case_uuid=case.uuid)
    form = PhotoUploadForm(posted(request), posted_files(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.add_photo(
                by=person,
                case=case,
                upload=form.cleaned_data["photo"],
                view=form.cleaned_data["view"],
                request=request,
            )
        except (PhotoRejected, UserFacingError) as exc:
            form.add_error("photo", str(exc))
        else:
            messages.success(request, _("The photo was added."))
            return redirect("photos:manage", case_uuid=case.uuid)
    return render(
        request,
        "photos/manage.html",
        {"case": case, "photos": case.photos.all(), "form": form},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def remove(request: HttpRequest, case_uuid: uuid.UUID, photo_uuid: uuid.UUID) -> HttpResponse:
    person = _person(request)
    case = open_case(by=person, case_uuid=case_uuid, request=request)
    photo = case.photos.filter(uuid=photo_uuid).first()
    if photo is None:
        raise Http404
    try:
        services.remove_photo(by=person, photo=photo, request=request)
    except UserFacingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The photo was removed."))
    return redirect("photos:manage", case_uuid=case.uuid)


@login_required
@require_GET
def image(
    request: HttpRequest, case_uuid: uuid.UUID, photo_uuid: uuid.UUID, size: str
) -> FileResponse:
    person = _person(request)
    _, handle = services.open_photo(
        by=person, case_uuid=case_uuid, photo_uuid=photo_uuid, size=size, request=request
    )
    response = FileResponse(handle, content_type="image/jpeg")
    # Health data: never kept in a shared cache or on a shared device's disk.
    response["Cache-Control"] = "private, no-store"
    return response
