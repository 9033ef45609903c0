from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from telederm.cases.models import Case
from telederm.review import codes, services
from telederm.review.models import Review
from telederm.review.receivers import her_id_in

GUIDE_LABELS = {
    "eczema-care": _("Eczema care"),
    "acne": _("Acne"),
    "fungal-infections": _("Fungal infections"),
    "sun-protection": _("Sun protection"),
    "mole-self-check": _("Mole self-check"),
    "wound-care": _("Wound care"),
    "scabies": _("Scabies"),
    "psoriasis": _("Psoriasis"),
    "hives": _("Hives (urticaria)"),
}
_CODE_SPLIT = re.compile(r"[,;\s]+")


class AnswerForm(forms.ModelForm[Review]):
    """The first workspace's short answer (kept for `answer_case`'s callers)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    class Meta:
        model = Review
        fields = ["assessment", "diagnosis", "advice"]
        widgets = {
            "assessment": forms.Textarea(attrs={"rows": 6}),
            "advice": forms.Textarea(attrs={"rows": 8}),
        }


class ReviewForm(forms.ModelForm[Review]):
    """The review workspace: the answer, coded diagnoses, the outcome and its details.

    Works without JavaScript: codes are typed (the code search only fills these fields in), and
    every outcome's details are plain fields; the service checks what the chosen outcome needs.
    """

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    icd10_codes = forms.CharField(
        label=_("ICD-10 codes"),
        required=False,
        max_length=200,
        help_text=_("Separated by commas, the main diagnosis first. For example: L40.0"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    icpc2_codes = forms.CharField(
        label=_("ICPC-2 codes"),
        required=False,
        max_length=200,
        help_text=_("For the GP's record. For example: S91"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    guides = forms.MultipleChoiceField(
        label=_("Self-care guides to link"),
        required=False,
        choices=[(slug, GUIDE_LABELS[slug]) for slug in services.GUIDE_SLUGS],
        widget=forms.CheckboxSelectMultiple,
    )
    referral_priority = forms.ChoiceField(
        label=_("Priority"),
        required=False,
        choices=[("", _("Choose")), *Case.Priority.choices],
    )
    referral_pathway = forms.ChoiceField(
        label=_("Pathway"), required=False, choices=Case.Pathway.choices
    )
    # Picked from the address register (a <datalist> the interop app fills), a receiver reads
    # "Name (HER-id N)" and the referral then also goes as a Henvisning; typed freely, it is
    # only recorded. Plain text either way, so it works without JavaScript.
    referral_receiver = forms.CharField(
        label=_("Refer to"),
        required=False,
        max_length=200,
        help_text=_(
            "Department or clinic, for example “Hudavdelingen, UNN Tromsø”. Pick one from the "
            "address register (name with HER-id) to send the referral electronically."
        ),
        widget=forms.TextInput(attrs={"list": "referral-receivers", "autocomplete": "off"}),
    )
    referral_reason = forms.CharField(
        label=_("Reason for referral"),
        required=False,
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    video_reason = forms.CharField(
        label=_("What the video consultation is for"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    info_request = forms.CharField(
        label=_("What you need from the patient or sender"),
        required=False,
        max_length=5000,
        help_text=_("Sent as a message in the patient's language when you choose this outcome."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    class Meta:
        model = Review
        fields = ["assessment", "diagnosis", "advice", "safety_net", "advice_gp", "outcome"]
        widgets = {
            "assessment": forms.Textarea(attrs={"rows": 5}),
            "advice": forms.Textarea(attrs={"rows": 6}),
            "safety_net": forms.Textarea(attrs={"rows": 2}),
            "advice_gp": forms.Textarea(attrs={"rows": 3}),
            "outcome": forms.RadioSelect,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        outcome = self.fields["outcome"]
        assert isinstance(outcome, forms.ChoiceField)
        outcome.choices = Review.Outcome.choices

    def _codes(self, name: str, system: str) -> list[str]:
        found = []
        for typed in _CODE_SPLIT.split(self.cleaned_data.get(name) or ""):
            if not typed:
                continue
            code = codes.lookup(system, typed)
            if code is None:
                raise forms.ValidationError(
                    _("%(code)s is not a known code.") % {"code": typed}, code="unknown"
                )
            found.append(code.code)
        return found

    def clean_icd10_codes(self) -> list[str]:
        return self._codes("icd10_codes", "icd10")

    def clean_icpc2_codes(self) -> list[str]:
        return self._codes("icpc2_codes", "icpc2")

    def diagnoses(self) -> list[services.DiagnosisChoice]:
        """The codes typed or picked; the first ICD-10 code (else the first ICPC-2) is primary."""
        chosen = [
            services.DiagnosisChoice(system=system, code=code)
            for system, name in (("icd10", "icd10_codes"), ("icpc2", "icpc2_codes"))
            for code in self.cleaned_data[name]
        ]
        if chosen:
            first = chosen[0]
            chosen[0] = services.DiagnosisChoice(
                system=first.system, code=first.code, is_primary=True
            )
        return chosen

    def referral(self) -> services.ReferralDetails | None:
        data = self.cleaned_data
        if not (data["referral_priority"] or data["referral_receiver"] or data["referral_reason"]):
            return None
        return services.ReferralDetails(
            priority=data["referral_priority"],
            receiver=data["referral_receiver"],
            reason=data["referral_reason"],
            pathway=data["referral_pathway"],
            receiver_her_id=her_id_in(data["referral_receiver"]),
        )

    def fields_for_service(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name]
            for name in ("assessment", "diagnosis", "advice", "safety_net", "advice_gp", "outcome")
        } | {"guides": self.cleaned_data["guides"]}

    @classmethod
    def initial_for(cls, review: Review | None, version: int) -> dict[str, Any]:
        """The saved draft as the form's starting values."""
        initial: dict[str, Any] = {"version": version}
        if review is None:
            return initial
        for name in ("assessment", "diagnosis", "advice", "safety_net", "advice_gp", "outcome"):
            initial[name] = getattr(review, name)
        initial["guides"] = review.guides
        diagnoses = list(review.diagnoses.all())
        for system in ("icd10", "icpc2"):
            initial[f"{system}_codes"] = ", ".join(d.code for d in diagnoses if d.system == system)
        referral = getattr(review, "referral", None)
        if referral is not None:
            initial |= {
                "referral_priority": referral.priority,
                "referral_pathway": referral.pathway,
                "referral_receiver": referral.receiver,
                "referral_reason": referral.reason,
            }
        video = getattr(review, "video_request", None)
        if video is not None:
            initial["video_reason"] = video.reason
        return initial


class PrescriptionForm(forms.Form):
    drug = forms.CharField(label=_("Drug"), max_length=200, required=False)
    strength = forms.CharField(label=_("Strength"), max_length=100, required=False)
    dosage = forms.CharField(label=_("Dosage"), max_length=300, required=False)
    duration = forms.CharField(label=_("Duration"), max_length=100, required=False)
    instructions = forms.CharField(
        label=_("Instructions to the patient"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("drug", "").strip() and not data.get("dosage", "").strip():
            self.add_error("dosage", _("Give the dosage for this drug."))
        return data


PrescriptionFormSet = forms.formset_factory(PrescriptionForm, extra=0, max_num=10, absolute_max=10)


def prescription_formset(
    data: Any = None, review: Review | None = None, *, blank_rows: int = 2
) -> Any:
    """Saved prescription lines plus a few empty rows to add more without JavaScript."""
    if data is not None:
        return PrescriptionFormSet(data, prefix="rx")
    rows = [
        {
            "drug": p.drug,
            "strength": p.strength,
            "dosage": p.dosage,
            "duration": p.duration,
            "instructions": p.instructions,
        }
        for p in (review.prescriptions.all() if review is not None else [])
    ]
    rows += [{} for _ in range(blank_rows)]
    return PrescriptionFormSet(initial=rows, prefix="rx")


def prescription_lines(formset: Any) -> list[services.PrescriptionLine]:
    return [
        services.PrescriptionLine(
            drug=form.cleaned_data.get("drug", ""),
            strength=form.cleaned_data.get("strength", ""),
            dosage=form.cleaned_data.get("dosage", ""),
            duration=form.cleaned_data.get("duration", ""),
            instructions=form.cleaned_data.get("instructions", ""),
        )
        for form in formset
        if form.cleaned_data.get("drug", "").strip()
    ]


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
