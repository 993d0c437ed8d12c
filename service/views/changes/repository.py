"""SQL for the change feed.

Event ids come from a sequence, taken at insert, so a transaction that started first
can commit last and land *behind* ids a reader has already passed: paging by id alone
loses events. Every event also records its transaction id (`xact_id`), and the feed
reads in (xact_id, id) order but only below the horizon `pg_snapshot_xmin` of the
statement's own snapshot: every transaction older than that has ended, so everything
below it is final, and any event not yet visible has an `xact_id` at or above it and
therefore sorts after every position already handed out. A long transaction delays the
feed (events wait below it); it never makes it skip.
"""

from __future__ import annotations

from collections.abc import Collection

import msgspec

from service.domain.history.repository import POSITION, TAIL
from service.domain.history.schemas import FeedPosition, ResourceType
from service.domain.visibility import PUBLISHED_DOCUMENT, PUBLISHED_STATEMENT
from service.kit.db import Connection
from service.views.changes.schemas import FeedSlice
from service.web.auth import Audience


def _was_published_subject(id_sql: str) -> str:
    """`visibility.published_subject` without its `deleted_at IS NULL`: a statement or
    document that is public, live or deleted. The feed must tell partners about
    deletions, and a relation or assessment deleted along with its subject (or after
    it) was published while it lived."""
    return f"""(EXISTS (SELECT 1 FROM statements vs WHERE vs.id = {id_sql} AND vs.visibility = 'public')
             OR EXISTS (SELECT 1 FROM documents vd WHERE vd.id = {id_sql} AND vd.visibility = 'public'))"""


# Which events a `read` key may see: those about resources the public may see, judged by
# the resource's current state (the log has no visibility of its own). This is the
# visibility.PUBLISHED_* rule, with deleted resources kept so their `deleted` events
# reach partners. Organizations and people are always published.
PUBLIC_EVENT = f"""CASE e.resource_type
    WHEN 'statement' THEN EXISTS (
        SELECT 1 FROM statements s WHERE s.id = e.resource_id AND {PUBLISHED_STATEMENT})
    WHEN 'document' THEN EXISTS (
        SELECT 1 FROM documents d WHERE d.id = e.resource_id AND {PUBLISHED_DOCUMENT})
    WHEN 'relation' THEN EXISTS (
        SELECT 1 FROM relations r WHERE r.id = e.resource_id
            AND {_was_published_subject("r.source_id")} AND {_was_published_subject("r.target_id")})
    WHEN 'assessment' THEN EXISTS (
        SELECT 1 FROM assessments a WHERE a.id = e.resource_id
            AND a.state <> 'draft' AND {_was_published_subject("a.subject_id")})
    ELSE TRUE END"""


def _feed_sql(audience: Audience) -> str:
    visible = PUBLIC_EVENT if audience is Audience.PUBLIC else "TRUE"
    # One statement, so the page, the horizon and `end` all come from one snapshot.
    # The row comparison and both ORDER BYs are served by events_by_commit (xact_id, id).
    return f"""
WITH horizon AS MATERIALIZED (
    SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin
),
page AS (
    SELECT e.xact_id, e.id, e.resource_type, e.resource_id, e.action, e.version, e.at
    FROM events e
    WHERE (e.xact_id, e.id) > ($1::xid8, $2::bigint)
      AND e.xact_id < (SELECT xmin FROM horizon)
      AND ($3::resource_type[] IS NULL OR e.resource_type = ANY ($3::resource_type[]))
      AND {visible}
    ORDER BY e.xact_id, e.id
    LIMIT $4
),
tail AS ({TAIL.format(horizon="(SELECT xmin FROM horizon)")})
SELECT json_build_object(
    'items', (SELECT coalesce(json_agg(json_build_object(
                'id', p.id, 'type', p.resource_type, 'resource_id', p.resource_id,
                'action', p.action, 'version', p.version, 'at', p.at)
              ORDER BY p.xact_id, p.id), '[]') FROM page p),
    'last', (SELECT {POSITION.format(alias="p")} FROM page p
             ORDER BY p.xact_id DESC, p.id DESC LIMIT 1),
    'end', (SELECT {POSITION.format(alias="t")} FROM tail t))
"""


FEED = {audience: _feed_sql(audience) for audience in Audience}


async def read_feed(
    conn: Connection,
    after: FeedPosition,
    limit: int,
    types: Collection[ResourceType] | None,
    audience: Audience,
) -> FeedSlice:
    """Up to `limit` events after `after` that have become final, in commit order.

    Must run as its own statement outside a longer transaction: the horizon is that of
    the statement's snapshot (READ COMMITTED), and it is only meaningful on the primary.
    """
    raw = await conn.fetchval(
        FEED[audience],
        after.xact_id,
        after.event_id,
        sorted(types) if types else None,
        limit,
    )
    return msgspec.json.decode(raw, type=FeedSlice)
