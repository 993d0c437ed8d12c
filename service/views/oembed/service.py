"""Rules for oEmbed: which URLs name a subject of this service, and the embed code of
its card."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit
from uuid import UUID

from service.domain.subjects import SubjectType
from service.kit.db import Connection
from service.kit.errors import NotFound
from service.views.oembed.schemas import OEmbed
from service.views.published.presentation import clip
from service.views.published.service import (
    PROVIDER_NAME,
    SUBJECT_TYPES,
    embed_url,
    published_subject,
)

EMBED_WIDTH = 560
EMBED_HEIGHT = 360
# The iframe points at a live card, so consumers may keep the oEmbed answer a while.
OEMBED_CACHE_AGE = 3600

_OUR_PATHS = re.compile(
    r"^/(?:embed|v1)/(?P<collection>statements|documents)/(?P<id>[0-9a-fA-F-]{36})"
    r"(?:/record)?/?$"
)


def subject_of_url(url: str, base_url: str) -> tuple[SubjectType, UUID] | None:
    """The subject an embed or resource URL of this service names, or None for any other
    URL: `{base}/embed/{statements|documents}/{id}`, `{base}/v1/{...}/{id}` or its
    `/record` (scheme and host compared case-insensitively; query and fragment ignored)."""
    try:
        ours, theirs = urlsplit(base_url), urlsplit(url.strip())
        port_matches = ours.port == theirs.port
    except ValueError:
        return None
    if (
        theirs.scheme.lower() != ours.scheme.lower()
        or (theirs.hostname or "") != (ours.hostname or "")
        or not port_matches
        or not theirs.path.startswith(ours.path)
    ):
        return None
    match = _OUR_PATHS.match(theirs.path[len(ours.path) :])
    if match is None:
        return None
    try:
        id = UUID(match.group("id"))
    except ValueError:
        return None
    return SUBJECT_TYPES[match.group("collection")], id


async def oembed(
    conn: Connection,
    url: str,
    base_url: str,
    *,
    maxwidth: int | None = None,
    maxheight: int | None = None,
) -> OEmbed:
    """oEmbed 1.0 `rich` for an embed or resource URL of a published subject; 404 for
    any other URL. The size never exceeds `maxwidth` x `maxheight`."""
    named = subject_of_url(url, base_url)
    if named is None:
        raise NotFound("not the URL of a statement or document of this service")
    subject = await published_subject(conn, *named)
    width = min(EMBED_WIDTH, maxwidth or EMBED_WIDTH)
    height = min(EMBED_HEIGHT, maxheight or EMBED_HEIGHT)
    title = clip(subject.claim, 120)
    src = embed_url(base_url, subject.type, subject.id)
    iframe = (
        f'<iframe src="{html.escape(src)}" width="{width}" height="{height}"'
        f' title="{html.escape(f"{PROVIDER_NAME}: {title}")}" style="border:0;max-width:100%"'
        ' loading="lazy" sandbox="allow-popups allow-popups-to-escape-sandbox"></iframe>'
    )
    return OEmbed(
        version="1.0",
        type="rich",
        html=iframe,
        width=width,
        height=height,
        title=title,
        provider_name=PROVIDER_NAME,
        provider_url=base_url,
        cache_age=OEMBED_CACHE_AGE,
    )
