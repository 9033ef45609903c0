from __future__ import annotations

from django import forms

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
