from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from telederm.cases.models import Case
from telederm.patients.identifiers import InvalidIdentifier, PersonIdentifier
from telederm.patients.services import parse_identifier


class QuestionnaireForm(forms.ModelForm[Case]):
    """What the patient or sender tells the dermatologist about the problem."""

    class Meta:
        model = Case
        fields = [
            "complaint",
            "body_site",
            "body_site_detail",
            "onset",
            "change",
            "itch",
            "pain",
            "treatments_tried",
            "other_information",
        ]
        widgets = {
            "complaint": forms.Textarea(attrs={"rows": 4}),
            "body_site": forms.Select,
            "onset": forms.RadioSelect,
            "change": forms.RadioSelect,
            "itch": forms.RadioSelect,
            "pain": forms.RadioSelect,
            "treatments_tried": forms.Textarea(attrs={"rows": 3}),
            "other_information": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "complaint": _("In your own words: what does it look like, and what worries you?"),
            "body_site_detail": _("For example: left cheek, below the eye."),
            "treatments_tried": _("Creams, tablets or other treatment, and whether they helped."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Radio buttons need no empty "---------" choice: nothing is checked until the person picks.
        radios = {
            "onset": Case.Onset,
            "change": Case.Change,
            "itch": Case.Severity,
            "pain": Case.Severity,
        }
        for name, choices in radios.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = choices.choices
        body_site = self.fields["body_site"]
        assert isinstance(body_site, forms.ChoiceField)
        body_site.choices = [("", _("Choose where")), *Case.BodySite.choices]

    def clean_complaint(self) -> str:
        text = str(self.cleaned_data["complaint"]).strip()
        if len(text) < 3:
            raise forms.ValidationError(_("Describe the problem in a few words."))
        return text


class OnBehalfQuestionnaireForm(QuestionnaireForm):
    """The questionnaire as a professional fills it in: the patient's consent is required."""

    class Meta(QuestionnaireForm.Meta):
        fields = [*QuestionnaireForm.Meta.fields, "patient_consents"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["patient_consents"].required = True


class ReferralForm(OnBehalfQuestionnaireForm):
    """The questionnaire plus who the patient is, for a professional sender."""

    patient_identifier = forms.CharField(
        label=_("Patient's fødselsnummer or D-nummer"),
        max_length=20,
        help_text=_("11 digits. A felles hjelpenummer is also accepted."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    patient_name = forms.CharField(label=_("Patient's full name"), max_length=200)

    class Meta(OnBehalfQuestionnaireForm.Meta):
        fields = ["patient_identifier", "patient_name", *OnBehalfQuestionnaireForm.Meta.fields]

    def clean_patient_identifier(self) -> PersonIdentifier:
        try:
            return parse_identifier(self.cleaned_data["patient_identifier"])
        except InvalidIdentifier as exc:
            raise forms.ValidationError(str(exc)) from exc


class VersionForm(forms.Form):
    """The version of the case the person saw: protects against overwriting someone's change."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class MessageForm(forms.Form):
    """A secure message on a case; where to go back to after sending it."""

    body = forms.CharField(
        label=_("Your message"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Only the people caring for your case can read it."),
    )
    next = forms.CharField(widget=forms.HiddenInput, required=False, max_length=500)

    def clean_body(self) -> str:
        text = str(self.cleaned_data["body"]).strip()
        if not text:
            raise forms.ValidationError(_("Write a message before you send it."))
        return text
