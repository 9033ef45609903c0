from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from telederm.cases.forms import MessageForm
from telederm.photos import sites
from telederm.photos.models import Lesion, Photo


class LesionForm(forms.Form):
    body_site = forms.ChoiceField(
        label=_("Where on the body"),
        choices=[("", _("Choose a body site"))],
    )
    laterality = forms.ChoiceField(
        label=_("Side"),
        choices=Lesion.Laterality.choices,
        widget=forms.RadioSelect,
        help_text=_("The person's own left or right."),
    )
    label = forms.CharField(
        label=_("Describe it in a few words (optional)"),
        max_length=120,
        required=False,
        help_text=_("For example: the mole that has grown."),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        body_site = self.fields["body_site"]
        assert isinstance(body_site, forms.ChoiceField)
        body_site.choices = [("", _("Choose a body site")), *sites.choices()]

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        site, side = cleaned.get("body_site"), cleaned.get("laterality")
        if site and side and not sites.is_valid(str(site), str(side)):
            self.add_error("laterality", _("This body site needs another choice of side."))
        return cleaned


class PhotoUploadForm(forms.Form):
    """One photo of one lesion: what the no-JavaScript form posts, and what Uppy enhances."""

    kind = forms.ChoiceField(
        label=_("Kind of photo"), choices=Photo.Kind.choices, initial=Photo.Kind.OVERVIEW
    )
    photo = forms.FileField(
        label=_("Photo"),
        help_text=_("Take it in daylight, without flash, and hold the phone still."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one `<input type=file multiple>`; an empty list when none is chosen."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        items = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in items if item]


class MessageWithPhotosForm(MessageForm):
    """A message from the patient side, with photos of one kind and one spot (all optional)."""

    photos = MultipleFileField(label=_("Photos"), required=False)
    kind = forms.ChoiceField(
        label=_("Kind of photo"), choices=Photo.Kind.choices, initial=Photo.Kind.OVERVIEW
    )
    lesion = forms.CharField(required=False, max_length=36)
