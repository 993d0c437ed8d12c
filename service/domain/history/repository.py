"""SQL for the append-only event log."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import msgspec

from service.domain.history.schemas import EventAction, FeedPosition, HistoryEntry, ResourceType
from service.kit.db import Connection

INSERT_EVENT = """
INSERT INTO events (resource_type, resource_id, action, version, actor, changed_fields)
VALUES ($1, $2, $3, $4, $5, $6)
"""


def event_sql(
    resource_type: ResourceType,
    action: EventAction,
    alias: str,
    actor: str,
    changed_fields: str = "'{}'",
) -> str:
    """The event of the row a statement's CTE `alias` wrote (`actor` and
    `changed_fields` its parameters), for a write made in one statement
    (`crud.checked_write_sql`)."""
    return f"""INSERT INTO events (resource_type, resource_id, action, version, actor, changed_fields)
    SELECT '{resource_type.value}', {alias}.id, '{action.value}', {alias}.version,
        {actor}::text, {changed_fields}::text[]
    FROM {alias}"""


EVENT_JSON = """json_build_object(
    'id', e.id, 'resource_type', e.resource_type, 'resource_id', e.resource_id,
    'action', e.action, 'version', e.version, 'at', e.at, 'actor', e.actor,
    'changed_fields', e.changed_fields)"""

# Many `created` events at once (an import's batch): one statement, one INSERT for the
# event log's triggers (webhook outbox, badge notifications) however many rows.
INSERT_CREATED_EVENTS = """
INSERT INTO events (resource_type, resource_id, action, version, actor)
SELECT $1, id, 'created', 1, $3 FROM unnest($2::uuid[]) AS created (id)
"""

SELECT_HISTORY = f"""
SELECT coalesce(json_agg(page.doc ORDER BY page.id), '[]') FROM (
    SELECT {EVENT_JSON} AS doc, e.id FROM events e
    WHERE e.resource_type = $1 AND e.resource_id = $2 AND e.id > $3
    ORDER BY e.id LIMIT $4
) AS page
"""


async def record_event(
    conn: Connection,
    resource_type: ResourceType,
    resource_id: UUID,
    action: EventAction,
    version: int,
    actor: str | None,
    changed_fields: Sequence[str] = (),
) -> None:
    await conn.execute(
        INSERT_EVENT, resource_type, resource_id, action, version, actor, list(changed_fields)
    )


async def record_created_events(
    conn: Connection, resource_type: ResourceType, resource_ids: Sequence[UUID], actor: str | None
) -> None:
    """The `created` event (version 1) of each of these new rows, in their order."""
    if resource_ids:
        await conn.execute(INSERT_CREATED_EVENTS, resource_type, list(resource_ids), actor)


async def history(
    conn: Connection, resource_type: ResourceType, resource_id: UUID, after_id: int, limit: int
) -> list[HistoryEntry]:
    raw = await conn.fetchval(SELECT_HISTORY, resource_type, resource_id, after_id, limit)
    return msgspec.json.decode(raw, type=list[HistoryEntry])


# ---- the change feed's position (commit order; service/views/changes/repository.py) ----

# The newest event below the horizon: everything up to it is final.
TAIL = """
    SELECT e.xact_id, e.id FROM events e
    WHERE e.xact_id < {horizon}
    ORDER BY e.xact_id DESC, e.id DESC
    LIMIT 1"""

# xid8 goes through numeric into JSON: it is unsigned 64-bit, wider than bigint.
POSITION = "json_build_array({alias}.xact_id::text::numeric, {alias}.id)"

HEAD = f"""SELECT {POSITION.format(alias="t")}
FROM ({TAIL.format(horizon="pg_snapshot_xmin(pg_current_snapshot())")}) AS t"""


async def feed_head(conn: Connection) -> FeedPosition | None:
    """The newest final event of the current snapshot (of the transaction, in
    REPEATABLE READ): every event not in the snapshot sorts after it."""
    raw = await conn.fetchval(HEAD)
    return None if raw is None else msgspec.json.decode(raw, type=FeedPosition)
