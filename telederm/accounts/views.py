"""A person's own account pages that allauth does not provide: notification settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from telederm.accounts.forms import NotificationSettingsForm
from telederm.accounts.models import User
from telederm.accounts.services import set_notification_settings
from telederm.core.forms import posted


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    """E-mail and SMS: notifications say only that there is news, never what it is."""
    person = request.user
    if not isinstance(person, User):
        raise PermissionDenied
    form = NotificationSettingsForm(
        posted(request), initial={"mobile_number": person.mobile_number}
    )
    if request.method == "POST" and form.is_valid():
        set_notification_settings(by=person, mobile_number=form.cleaned_data["mobile_number"])
        messages.success(request, _("Your notification settings were saved."))
        return redirect("accounts:notifications")
    return render(request, "accounts/notifications.html", {"form": form})
