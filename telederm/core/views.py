"""Pages that belong to no single part of the domain: the front door and the health checks."""

from __future__ import annotations

import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Send each person to where their work is; show the front page to visitors."""
    user = request.user
    if not user.is_authenticated:
        return render(request, "core/welcome.html")
    if getattr(user, "is_clinical_staff", False):
        return redirect("review:queue")
    role = getattr(user, "role", "")
    if role in {"patient", "submitter", "external"}:
        return redirect("cases:list")
    if role == "privacy_officer":
        return redirect("privacy:review")
    return render(request, "core/no_workspace.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering. Checks nothing else, so a slow database cannot kill it."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: the database answers and the photo storage accepts a write and a read."""
    checks = {"database": _check_database(), "storage": _check_storage()}
    ready = all(result == "ok" for result in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001  (report any failure, never raise from a probe)
        return f"error: {type(exc).__name__}"
    return "ok"


def _check_storage() -> str:
    name = f"readyz/{uuid.uuid4().hex}"
    try:
        saved = default_storage.save(name, ContentFile(b"ok"))
        with default_storage.open(saved, "rb") as handle:
            ok = handle.read() == b"ok"
        default_storage.delete(saved)
    except Exception as exc:  # noqa: BLE001
        return f"error: {type(exc).__name__}"
    return "ok" if ok else "error: read back differs"
