from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from telederm.core import clock
from telederm.patients.identifiers import InvalidIdentifier, parse_person_identifier


class ReviewFilterForm(forms.Form):
    """Sent by POST, so that a patient's identity number never appears in a URL or a log."""

    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))
    person = forms.CharField(
        label=_("Person"),
        required=False,
        max_length=200,
        help_text=_("Name or e-mail address of the person who had access."),
    )
    patient_identifier = forms.CharField(
        label=_("Patient's national identity number"),
        required=False,
        max_length=11,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    unusual_only = forms.BooleanField(label=_("Only unusual accesses"), required=False)

    @staticmethod
    def defaults() -> dict[str, object]:
        today = clock.now().date()
        return {"start": today - dt.timedelta(days=7), "end": today}

    def clean_patient_identifier(self) -> str:
        value = "".join(self.cleaned_data["patient_identifier"].split())
        if not value:
            return ""
        try:
            return parse_person_identifier(
                value, accept_synthetic=settings.TELEDERM_ACCEPT_SYNTHETIC_IDS
            ).value
        except InvalidIdentifier as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
            raise forms.ValidationError(_("The period ends before it starts."))
        return data


class BreakGlassReviewForm(forms.Form):
    note = forms.CharField(
        label=_("What you found"),
        max_length=300,
        help_text=_("For example: justified, the patient called about a worsening."),
    )
