from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from telederm.review.models import Review


class AnswerForm(forms.ModelForm[Review]):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    class Meta:
        model = Review
        fields = ["assessment", "diagnosis", "advice"]
        widgets = {
            "assessment": forms.Textarea(attrs={"rows": 6}),
            "advice": forms.Textarea(attrs={"rows": 8}),
        }


class BreakGlassForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you need to open this case?"),
        help_text=_("For example: the patient is on the phone about an urgent worsening."),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class GrantForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    email = forms.EmailField(label=_("E-mail address"))
    hpr_number = forms.CharField(
        label=_("HPR number"),
        max_length=9,
        help_text=_("The number in the Health Personnel Register (Helsepersonellregisteret)."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=300,
        help_text=_("For example: second opinion from plastic surgery before excision."),
    )
    days = forms.IntegerField(
        label=_("Days of access"),
        min_value=1,
        max_value=settings.TELEDERM_GRANT_MAX_DAYS,
        initial=7,
    )
