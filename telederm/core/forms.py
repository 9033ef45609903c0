"""Small helpers shared by forms across the apps."""

from __future__ import annotations

from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict


def posted(request: HttpRequest) -> QueryDict | None:
    """The POST data to bind a form to, or None on GET.

    `request.POST or None` would leave a form unbound, and so silently valid-less, when someone
    sends an empty POST; binding on the method makes an empty submission show its errors.
    """
    return request.POST if request.method == "POST" else None


def posted_files(request: HttpRequest) -> MultiValueDict | None:
    return request.FILES if request.method == "POST" else None
