"""The duty nurse's forms. Each carries the case version the nurse saw (optimistic locking)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from telederm.accounts.models import User
from telederm.cases.forms import VersionForm
from telederm.cases.models import Case
from telederm.triage import messages

QUEUE_FILTERS = (
    ("all", _("To triage")),
    ("mine", _("Claimed by me")),
    ("unclaimed", _("Unclaimed")),
    ("waiting", _("Waiting for the patient")),
    ("forwarded", _("Forwarded")),
)


class PriorityForm(VersionForm):
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Case.Priority.choices, widget=forms.RadioSelect
    )
    pathway = forms.ChoiceField(label=_("Pathway"), choices=Case.Pathway.choices, required=False)


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note for the dermatologist"),
        help_text=_("Only the clinic sees triage notes; the patient does not."),
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _template_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for template in messages.REQUEST_TEMPLATES:
        groups.setdefault(str(template.group), []).append((template.slug, str(template.title)))
    return list(groups.items())


class InfoRequestForm(VersionForm):
    """Choose ready-made requests, fill in the text in the reader's language, edit, send."""

    templates = forms.MultipleChoiceField(
        label=_("Ready-made requests"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    text = forms.CharField(
        label=_("Message to the sender"),
        help_text=_("The sender reads this after signing in; the notice they get has no details."),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["templates"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = _template_choices()


class SelfCareForm(VersionForm):
    guides = forms.MultipleChoiceField(
        label=_("Self-care guides to link"),
        required=False,
        choices=messages.GUIDES,
        widget=forms.CheckboxSelectMultiple,
    )
    text = forms.CharField(
        label=_("Advice to the patient"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )


class ForwardForm(VersionForm):
    dermatologist = forms.ModelChoiceField(
        label=_("Dermatologist"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Any dermatologist (the pool)"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["dermatologist"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = User.objects.filter(is_active=True, role=User.Role.DERMATOLOGIST).order_by(
            "full_name"
        )


class EscalateForm(VersionForm):
    reason = forms.CharField(label=_("Why is this an emergency?"), max_length=200)


class ResolveForm(VersionForm):
    outcome = forms.ChoiceField(
        label=_("The emergency is handled"),
        choices=[
            ("close", _("Close the case")),
            ("review", _("Send it on for an urgent dermatologist review")),
        ],
        widget=forms.RadioSelect,
    )
