from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from telederm.photos.models import Photo


class PhotoUploadForm(forms.Form):
    photo = forms.FileField(
        label=_("Photo"),
        help_text=_("Take the photo in daylight, in focus, with the whole area and a close-up."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    view = forms.ChoiceField(
        label=_("Kind of photo"), choices=Photo.Kind.choices, initial=Photo.Kind.OVERVIEW
    )
