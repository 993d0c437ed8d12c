"""Rules for badges, cards, oEmbed and ClaimReview: what is shown, and when it is 404."""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from urllib.parse import urlencode, urlsplit
from uuid import UUID

from litestar.datastructures import State

from service.domain.subjects import SubjectType, Verdict
from service.kit.db import Connection, acquire
from service.kit.errors import NotFound
from service.views.distribution import render, repository
from service.views.distribution.cache import BadgeCache, RenderedBadge
from service.views.distribution.schemas import (
    Claim,
    ClaimReview,
    CreativeWork,
    LinkedParty,
    LinkedPartyType,
    OEmbed,
    Party,
    PartyKind,
    PublicSubject,
    Rating,
)
from service.web.http import etag_for

COLLECTIONS = {SubjectType.STATEMENT: "statements", SubjectType.DOCUMENT: "documents"}
SUBJECT_TYPES = {collection: subject_type for subject_type, collection in COLLECTIONS.items()}

PROVIDER_NAME = "Verification Record"

# ---- badges ---------------------------------------------------------------------------------


def _render_badge(verdict: Verdict | None) -> RenderedBadge:
    svg, json = render.badge_svg(verdict), render.badge_json(verdict)
    return RenderedBadge(svg=svg, svg_etag=etag_for(svg), json=json, json_etag=etag_for(json))


# A badge depends on the verdict alone, so there are only fourteen of them: rendered once
# here, and the cache holds references to these.
RENDERED_BADGES: dict[Verdict | None, RenderedBadge] = {
    verdict: _render_badge(verdict) for verdict in (None, *Verdict)
}


async def badge(state: State, subject_type: SubjectType, id: UUID) -> RenderedBadge:
    """The subject's badge, from this process's cache when it can be trusted (see
    cache.py), else with one query; 404 unless the subject is live and public."""
    cache: BadgeCache = state.badge_cache
    key = (subject_type, id)
    known, rendered = cache.get(key)
    if not known:
        with cache.fill() as fill:
            # The primary, deliberately (not a read replica): a lagging read that landed
            # after its invalidation would be kept until the next change.
            async with acquire(state, state.settings) as conn:
                published, verdict = await repository.current_verdict(conn, subject_type, id)
            rendered = RENDERED_BADGES[verdict] if published else None
            fill.keep(key, rendered)
    if rendered is None:
        raise NotFound(f"no published {subject_type} with id {id}")
    return rendered


# ---- the card -------------------------------------------------------------------------------


def record_url(base_url: str, subject_type: SubjectType, id: UUID) -> str:
    return f"{base_url}/v1/{COLLECTIONS[subject_type]}/{id}/record"


def embed_url(base_url: str, subject_type: SubjectType, id: UUID) -> str:
    return f"{base_url}/embed/{COLLECTIONS[subject_type]}/{id}"


async def published_subject(conn: Connection, subject_type: SubjectType, id: UUID) -> PublicSubject:
    subject = await repository.public_subject(conn, subject_type, id)
    if subject is None:
        raise NotFound(f"no published {subject_type} with id {id}")
    return subject


async def card(conn: Connection, subject_type: SubjectType, id: UUID, base_url: str) -> str:
    """The embeddable HTML card of a published subject."""
    subject = await published_subject(conn, subject_type, id)
    return render.card_html(
        subject,
        record_url=record_url(base_url, subject_type, id),
        oembed_url=oembed_url(base_url, embed_url(base_url, subject_type, id)),
    )


def oembed_url(base_url: str, url: str) -> str:
    """The oEmbed endpoint's answer for `url`, as the card's discovery link names it."""
    return f"{base_url}/v1/oembed?{urlencode({'url': url, 'format': 'json'})}"


# ---- oEmbed ---------------------------------------------------------------------------------

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
    title = render.clip(subject.claim, 120)
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


# ---- ClaimReview ----------------------------------------------------------------------------

# The verdict on schema.org's 1..5 scale (5 best): true/authentic 5, mostly true/likely
# authentic 4, mixed/disputed 3, misleading/mostly false/altered 2, false/fabricated 1.
# Unverifiable and unverified rate nothing and carry only their label.
BEST_RATING, WORST_RATING = 5, 1
RATINGS: dict[Verdict, int] = {
    Verdict.TRUE: 5,
    Verdict.MOSTLY_TRUE: 4,
    Verdict.MIXED: 3,
    Verdict.MISLEADING: 2,
    Verdict.MOSTLY_FALSE: 2,
    Verdict.FALSE: 1,
    Verdict.AUTHENTIC: 5,
    Verdict.LIKELY_AUTHENTIC: 4,
    Verdict.DISPUTED: 3,
    Verdict.ALTERED: 2,
    Verdict.FABRICATED: 1,
}


def _linked(party: Party) -> LinkedParty:
    return LinkedParty(
        type=(
            LinkedPartyType.PERSON
            if party.kind == PartyKind.PERSON
            else LinkedPartyType.ORGANIZATION
        ),
        name=party.name,
        url=party.url,
        same_as=party.same_as or None,
    )


def _iso(moment: datetime | date | None) -> str | None:
    return None if moment is None else moment.isoformat()


def rating(verdict: Verdict) -> Rating:
    value = RATINGS.get(verdict)
    return Rating(
        type="Rating",
        alternate_name=render.verdict_label(verdict),
        rating_value=value,
        best_rating=BEST_RATING if value is not None else None,
        worst_rating=WORST_RATING if value is not None else None,
    )


async def claim_review(
    conn: Connection, subject_type: SubjectType, id: UUID, base_url: str
) -> ClaimReview:
    """ClaimReview of the subject's current published assessment; 404 when the subject
    is not published or has no published assessment."""
    subject = await published_subject(conn, subject_type, id)
    assessment = subject.assessment
    if assessment is None:
        raise NotFound(f"{subject_type} {id} has no published assessment")
    appearances = [
        CreativeWork(type="CreativeWork", url=a.url, date_published=a.published_at)
        for a in subject.appearances
    ]
    # The first appearance is the earliest dated one, else simply the first listed.
    dated = [(a.published_at, i) for i, a in enumerate(subject.appearances) if a.published_at]
    first_index = min(dated)[1] if dated else 0
    author = (
        _linked(assessment.author)
        if assessment.author is not None
        else LinkedParty(type=LinkedPartyType.ORGANIZATION, name=PROVIDER_NAME, url=base_url)
    )
    return ClaimReview(
        context="https://schema.org",
        type="ClaimReview",
        url=assessment.url or record_url(base_url, subject_type, id),
        claim_reviewed=subject.claim,
        review_rating=rating(assessment.verdict),
        item_reviewed=Claim(
            type="Claim",
            author=_linked(subject.author) if subject.author is not None else None,
            date_published=_iso(subject.said_at or subject.dated_on),
            appearance=appearances or None,
            first_appearance=appearances[first_index] if appearances else None,
        ),
        author=author,
        date_published=assessment.published_at,
        headline=assessment.headline,
    )
