from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from telederm.core.sms import normalise_number


class NotificationSettingsForm(forms.Form):
    """Where a person hears that there is news: e-mail always, SMS if they give a mobile number."""

    mobile_number = forms.CharField(
        label=_("Mobile number for SMS (optional)"),
        max_length=24,
        required=False,
        help_text=_(
            "For example 912 34 567, or +46 70 123 45 67 abroad. Leave it empty to get e-mail only."
        ),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )

    def clean_mobile_number(self) -> str:
        typed = str(self.cleaned_data["mobile_number"]).strip()
        if not typed:
            return ""
        number = normalise_number(typed)
        if not number:
            raise forms.ValidationError(
                _("This does not look like a mobile number. Check it, or leave the field empty.")
            )
        return number
