"""Every route of the URL configuration, for the tests that must cover all of them."""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver


def walk(
    patterns: list[URLPattern | URLResolver], prefix: str = "", *, admin: str = "admin/"
) -> Iterator[str]:
    """Route patterns as strings; Django's admin counts as the one route `admin`."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route.startswith("admin/"):
                yield admin
                continue
            yield from walk(pattern.url_patterns, route, admin=admin)
        else:
            yield route


def all_routes(*, admin: str = "admin/") -> list[str]:
    return sorted(set(walk(get_resolver().url_patterns, admin=admin)))
