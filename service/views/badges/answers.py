"""Badges as a source of the answers given before the router
(service/web/memory_answers.py): a held badge is sent from the raw request, without
Litestar's pipeline; anything else (a miss, a "not found", a malformed file name) goes
through the controller as before."""

from __future__ import annotations

import re
from uuid import UUID

from service.domain.subjects import SubjectType
from service.views.badges.cache import BadgeCache
from service.views.published.responses import PUBLIC_CACHE_CONTROL
from service.web.memory_answers import JSON_MEDIA_TYPE, Hit

SVG = "image/svg+xml"
PREFIX = "/v1/badges/"
# The routes' path templates, as Litestar names them (BadgeController).
TEMPLATES = {
    "statements": (SubjectType.STATEMENT, "/v1/badges/statements/{file}"),
    "documents": (SubjectType.DOCUMENT, "/v1/badges/documents/{file}"),
}

_BADGE_FILE = re.compile(r"^(?P<id>[0-9a-fA-F-]{36})\.(?P<ext>svg|json)$")
_SVG_MEDIA_TYPE = SVG.encode()
_CACHE_CONTROL = PUBLIC_CACHE_CONTROL.encode()


def badge_file(file: str) -> tuple[UUID, str] | None:
    """`{id}.svg` or `{id}.json` as (id, extension); None for anything else (404)."""
    match = _BADGE_FILE.match(file)
    if match is None:
        return None
    try:
        return UUID(match.group("id")), match.group("ext")
    except ValueError:
        return None


class BadgeAnswers:
    """The badge cache seen as an `AnswerSource`."""

    __slots__ = ("_cache",)

    def __init__(self, cache: BadgeCache) -> None:
        self._cache = cache

    def _key(self, path: str) -> tuple[tuple[SubjectType, UUID], str, str] | None:
        if not path.startswith(PREFIX):
            return None
        kind, _, file = path[len(PREFIX) :].partition("/")
        route = TEMPLATES.get(kind)
        parsed = badge_file(file)
        if route is None or parsed is None:
            return None
        subject_type, template = route
        id, extension = parsed
        return (subject_type, id), extension, template

    def peek(self, path: str) -> Hit | None:
        found = self._key(path)
        if found is None:
            return None
        key, extension, template = found
        badge = self._cache.peek(key)
        if badge is None:
            return None
        if extension == "svg":
            return Hit(template, badge.svg, badge.svg_etag, _SVG_MEDIA_TYPE, _CACHE_CONTROL, key)
        return Hit(template, badge.json, badge.json_etag, JSON_MEDIA_TYPE, _CACHE_CONTROL, key)

    def served(self, hit: Hit) -> None:
        self._cache.served(hit.key)  # type: ignore[arg-type]
