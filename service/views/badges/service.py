"""Rules for badges: what a badge shows, and when it is 404."""

from __future__ import annotations

from uuid import UUID

from litestar.datastructures import State

from service.domain.subjects import SubjectType, Verdict
from service.kit.db import acquire
from service.kit.errors import NotFound
from service.views.badges import render, repository
from service.views.badges.cache import BadgeCache, RenderedBadge
from service.web.http import etag_for


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
