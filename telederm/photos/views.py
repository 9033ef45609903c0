"""The sender's photo pages (lesions, uploads, retakes), and serving photos to those allowed."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from telederm.accounts.models import User
from telederm.cases import messaging
from telederm.cases import policies as case_policies
from telederm.cases.models import Case
from telederm.cases.services import open_case
from telederm.cases.views import at_thread, message_thread_context, safe_next
from telederm.core.errors import UserFacingError
from telederm.core.forms import posted, posted_files
from telederm.photos import message_photos, policies, services, sites
from telederm.photos.forms import LesionForm, MessageWithPhotosForm, PhotoUploadForm
from telederm.photos.models import Lesion, Photo
from telederm.photos.processing import PhotoRejected

logger = logging.getLogger(__name__)

# What the sender is asked for per lesion; dermoscopy only where a dermatoscope is at hand.
REQUIRED_KINDS = (Photo.Kind.OVERVIEW, Photo.Kind.CLOSE_UP)


def _person(request: HttpRequest) -> User:
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


@dataclass
class LesionPanel:
    """One lesion on the sender's photo page: its photos in this case and what is still missing."""

    lesion: Lesion
    photos: list[Photo]
    have: set[str] = field(default_factory=set)
    missing: list[str] = field(default_factory=list)
    upload_form: PhotoUploadForm | None = None

    @property
    def checklist(self) -> list[tuple[str, str]]:
        """The photos asked for, in the reader's language."""
        return [(kind.value, str(kind.label)) for kind in REQUIRED_KINDS]

    @property
    def site_label(self) -> str:
        return sites.describe(self.lesion.body_site, self.lesion.laterality)

    @property
    def processing(self) -> bool:
        return any(photo.is_pending for photo in self.photos)


def _panel(
    case: Case, lesion: Lesion, form: PhotoUploadForm | None = None, retake: str = ""
) -> LesionPanel:
    photos = list(case.photos.filter(lesion=lesion).order_by("created_at", "pk"))
    have = {photo.kind for photo in photos if not photo.is_rejected}
    missing = [kind for kind in REQUIRED_KINDS if kind not in have]
    next_kind = retake or (missing[0] if missing else Photo.Kind.DERMOSCOPY)
    return LesionPanel(
        lesion=lesion,
        photos=photos,
        have=have,
        missing=[str(Photo.Kind(kind).label) for kind in missing],
        upload_form=form or PhotoUploadForm(initial={"kind": next_kind}, auto_id=_ids(lesion)),
    )


def _ids(lesion: Lesion) -> str:
    """Element ids for one lesion's upload form: several are on a page; field names stay plain
    (`kind`, `photo`), which is what the upload script and the no-JavaScript post read."""
    return f"id_{lesion.uuid.hex}_%s"


def _retake(request: HttpRequest, lesion: Lesion) -> str:
    """The kind of photo to preselect when the sender follows "Take it again"."""
    kind = request.GET.get("retake", "")
    if request.GET.get("lesion") == lesion.uuid.hex and kind in Photo.Kind.values:
        return kind
    return ""


def _page(
    request: HttpRequest,
    case: Case,
    *,
    lesion_form: LesionForm | None = None,
    failed: tuple[Lesion, PhotoUploadForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    person = _person(request)
    panels = [
        _panel(
            case,
            lesion,
            failed[1] if failed and failed[0].pk == lesion.pk else None,
            retake=_retake(request, lesion),
        )
        for lesion in services.lesions_of(case)
    ]
    loose = list(case.photos.filter(lesion__isnull=True))
    earlier = services.earlier_lesions(by=person, case=case)[:10]
    return render(
        request,
        "photos/manage.html",
        {
            "case": case,
            "panels": panels,
            "loose_photos": loose,
            "lesion_form": lesion_form or LesionForm(),
            "earlier": [_panel(case, lesion) for lesion in earlier],
            "ready_to_send": _ready_to_send(panels, has_loose=bool(loose)),
            "uploader": _uploader_settings(),
            "uploader_strings": _uploader_strings(),
        },
        status=status,
    )


def _ready_to_send(panels: list[LesionPanel], *, has_loose: bool) -> bool:
    """Every spot has its overview and close-up, and no photo is still being checked."""
    return bool(panels or has_loose) and not any(
        panel.missing or panel.processing for panel in panels
    )


def _actions(case: Case) -> dict[str, object]:
    """What the page's actions area needs: whether the case can go on to "check and send"."""
    panels = [_panel(case, lesion) for lesion in services.lesions_of(case)]
    has_loose = case.photos.filter(lesion__isnull=True).exists()
    return {
        "ready_to_send": _ready_to_send(panels, has_loose=has_loose),
        "has_panels": bool(panels),
    }


def _uploader_strings() -> dict[str, str]:
    """What the upload script says, in the reader's language ({name}s are filled in by it)."""
    return {
        "progress": _("Upload"),
        "preparing": _("Preparing the photo…"),
        "uploading": _("Uploading {percent}"),
        "waiting": _("Waiting for the connection. The upload will go on by itself."),
        "resuming": _("Going on with the unfinished upload"),
        "sent": _("Sent. The photo is being checked."),
        "failed": _("Not sent: {message}"),
        "compressed": _("Made smaller on your phone: {before} → {after}"),
        "tooLarge": _("the photo is {size}, and the limit is {limit}."),
        "noAnswer": _("the server did not take the photo. Try again."),
    }


def _uploader_settings() -> dict[str, object]:
    return {
        "endpoint": reverse("uploads:collection"),
        "long_edge": settings.TELEDERM_UPLOAD_CLIENT_LONG_EDGE,
        "quality": settings.TELEDERM_UPLOAD_CLIENT_QUALITY,
        "max_bytes": settings.TELEDERM_UPLOAD_MAX_BYTES,
    }


def _draft_for_sender(request: HttpRequest, case_uuid: uuid.UUID) -> Case | None:
    person = _person(request)
    case = open_case(by=person, case_uuid=case_uuid, request=request)
    if not case_policies.can_edit_draft(person, case):
        return None
    return case


@login_required
@require_GET
def manage(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    case = _draft_for_sender(request, case_uuid)
    if case is None:
        return redirect("cases:detail", case_uuid=case_uuid)
    return _page(request, case)


@login_required
@require_POST
def add_lesion(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    case = _draft_for_sender(request, case_uuid)
    if case is None:
        return redirect("cases:detail", case_uuid=case_uuid)
    form = LesionForm(request.POST)
    if form.is_valid():
        try:
            lesion = services.add_lesion(
                by=_person(request),
                case=case,
                body_site=form.cleaned_data["body_site"],
                laterality=form.cleaned_data["laterality"],
                label=form.cleaned_data["label"],
                request=request,
            )
        except UserFacingError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect(
                reverse("photos:manage", args=[case.uuid]) + f"#lesion-{lesion.uuid.hex}"
            )
    return _page(request, case, lesion_form=form, status=400)


@login_required
@require_POST
def upload(request: HttpRequest, case_uuid: uuid.UUID, lesion_uuid: uuid.UUID) -> HttpResponse:
    """A photo posted whole: the page without JavaScript. Uppy sends through tus instead."""
    case = _draft_for_sender(request, case_uuid)
    if case is None:
        return redirect("cases:detail", case_uuid=case_uuid)
    person = _person(request)
    lesion = _known_lesion(person, case, lesion_uuid)
    form = PhotoUploadForm(posted(request), posted_files(request), auto_id=_ids(lesion))
    if form.is_valid():
        try:
            photo = services.add_photo(
                by=person,
                case=case,
                upload=form.cleaned_data["photo"],
                kind=form.cleaned_data["kind"],
                lesion=lesion,
                request=request,
                # The sender waits for this page anyway: check the photo now, so that the answer
                # (or the retake prompt) is on the next page even without JavaScript.
                process_now=True,
            )
        except (PhotoRejected, UserFacingError) as exc:
            form.add_error("photo", str(exc))
        else:
            if photo.is_rejected:
                messages.error(request, photo.rejection_text)
            elif photo.advice:
                messages.warning(request, " ".join(photo.advice))
            else:
                messages.success(request, _("The photo was added."))
            return redirect(
                reverse("photos:manage", args=[case.uuid]) + f"#lesion-{lesion.uuid.hex}"
            )
    return _page(request, case, failed=(lesion, form), status=400)


def _known_lesion(person: User, case: Case, lesion_uuid: uuid.UUID) -> Lesion:
    lesion = services.lesions_of(case).filter(uuid=lesion_uuid).first()
    if lesion is None:
        lesion = services.earlier_lesions(by=person, case=case).filter(uuid=lesion_uuid).first()
    if lesion is None:
        raise Http404
    return lesion


@login_required
@require_GET
def lesion_status(
    request: HttpRequest, case_uuid: uuid.UUID, lesion_uuid: uuid.UUID
) -> HttpResponse:
    """One lesion's panel, refreshed after an upload and while its photos are being checked."""
    case = _draft_for_sender(request, case_uuid)
    if case is None:
        return redirect("cases:detail", case_uuid=case_uuid)
    lesion = _known_lesion(_person(request), case, lesion_uuid)
    # While a photo is being checked the page polls only the photos (`part=photos`), so that the
    # upload form beside them, perhaps in use, is left alone.
    # The page's actions area comes along out of band (`hx-swap-oob`): the "Continue" link
    # appears as soon as the last photo asked for is in and checked, without a reload.
    partial = "_lesion_photos" if request.GET.get("part") == "photos" else "_lesion"
    return render(
        request,
        "photos/lesion_status.html",
        {
            "case": case,
            "panel": _panel(case, lesion),
            "uploader": _uploader_settings(),
            "partial": f"photos/{partial}.html",
            **_actions(case),
        },
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
    anchor = f"#lesion-{photo.lesion.uuid.hex}" if photo.lesion else ""
    return redirect(reverse("photos:manage", args=[case.uuid]) + anchor)


@login_required
@require_GET
def image(
    request: HttpRequest, case_uuid: uuid.UUID, photo_uuid: uuid.UUID, size: str
) -> HttpResponseBase:
    person = _person(request)
    if getattr(request, "telederm_token", None) is not None:
        # A program with the person's token (api.middleware marks the request): its own case
        # only, never break-glass or another case of the lesion (photos.policies).
        found = (
            Photo.objects.select_related("case")
            .filter(uuid=photo_uuid, case__uuid=case_uuid)
            .first()
        )
        if found is None or policies.photo_access(person, found, by_token=True) is None:
            raise Http404
    try:
        handle = services.open_photo(
            by=person, case_uuid=case_uuid, photo_uuid=photo_uuid, size=size, request=request
        )[1]
    except services.PhotoStoreUnavailable:
        logger.warning("Photo store unavailable for photo %s", photo_uuid, exc_info=True)
        response: HttpResponseBase = HttpResponse(
            _("The photo cannot be shown just now. Try again in a minute."),
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = "30"
        response["Cache-Control"] = "no-store"
        return response
    response = FileResponse(handle, content_type="image/jpeg")
    # Health data: never kept in a shared cache or on a shared device's disk.
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET"])
def compare(request: HttpRequest, case_uuid: uuid.UUID, lesion_uuid: uuid.UUID) -> HttpResponse:
    """A lesion's photos across dates: side by side, or one over the other with a slider."""
    person = _person(request)
    case = open_case(by=person, case_uuid=case_uuid, request=request)
    lesion, photos = services.lesion_history(by=person, case=case, lesion_uuid=lesion_uuid)
    columns = [
        {
            "url": reverse("photos:image", args=[photo.case.uuid, photo.uuid, "screen"]),
            "full_url": reverse("photos:image", args=[photo.case.uuid, photo.uuid, "full"]),
            "date": photo.created_at,
            "kind": photo.get_kind_display(),
            "this_case": photo.case_id == case.pk,
        }
        for photo in photos
    ]
    return render(
        request,
        "photos/compare.html",
        {
            "case": case,
            "lesion": lesion,
            "site_label": sites.describe(lesion.body_site, lesion.laterality),
            "columns": columns,
            "dates": len({photo.case_id for photo in photos}),
            **_first_pair(photos),
        },
    )


def _first_pair(photos: list[Photo]) -> dict[str, int]:
    """Which two photos the viewer opens with: the newest, and the oldest of the same kind
    (an overview beside an overview, a close-up beside a close-up)."""
    if len(photos) < 2:
        return {}
    newest = len(photos) - 1
    kind = photos[newest].kind
    oldest = next(i for i, photo in enumerate(photos) if photo.kind == kind)
    return {"pick_a": oldest if oldest != newest else 0, "pick_b": newest}


@login_required
@require_POST
def message_reply(request: HttpRequest, case_uuid: uuid.UUID) -> HttpResponse:
    """A message from the patient side with photos (the thread's form without JavaScript).

    The photos are checked in this request, as on the photo page, so that a refusal and its
    "take it again" advice are on the next page.
    """
    person = _person(request)
    found = messaging.case_to_write_on(by=person, case_uuid=case_uuid)
    if not case_policies.can_attach_message_photos(person, found):
        raise PermissionDenied  # photos come from the patient's side; the clinic writes text
    case = open_case(by=person, case_uuid=case_uuid, request=request)
    form = MessageWithPhotosForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            _message, photos = message_photos.send_message_with_photos(
                by=person,
                case=case,
                body=form.cleaned_data["body"],
                files=form.cleaned_data["photos"],
                kind=form.cleaned_data["kind"],
                lesion_uuid=form.cleaned_data["lesion"],
                request=request,
            )
        except UserFacingError as exc:
            form.add_error(None, str(exc))
        else:
            checked = [
                services.process_photo(photo_uuid=photo.uuid) if photo.is_pending else photo
                for photo in photos
            ]
            refused = [photo for photo in checked if photo.is_rejected]
            if refused:
                messages.error(
                    request,
                    _("Your message was sent, but a photo could not be used: %(why)s")
                    % {"why": refused[0].rejection_text},
                )
            else:
                messages.success(request, _("Your message was sent."))
            back = safe_next(request, form.cleaned_data["next"])
            return redirect(at_thread(back or reverse("cases:detail", args=[case.uuid])))
    photo_errors = [
        str(error)
        for name in ("photos", "kind", "lesion", "__all__")
        for error in form.errors.get(name, [])
    ]
    next_url = safe_next(request, request.POST.get("next"))
    return render(
        request,
        "cases/messages.html",
        {
            "case": case,
            **message_thread_context(request, case, next_url=next_url, form=form),
            "message_photo_errors": photo_errors,
        },
        status=400,
    )
