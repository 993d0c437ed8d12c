"""SQL for the append-only event log."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import msgspec

from service.domain.history.schemas import EventAction, HistoryEntry, ResourceType
from service.kit.db import Connection

INSERT_EVENT = """
INSERT INTO events (resource_type, resource_id, action, version, actor, changed_fields)
VALUES ($1, $2, $3, $4, $5, $6)
"""

INSERT_EVENTS = """
INSERT INTO events (resource_type, resource_id, action, version, actor)
SELECT $1, e.resource_id, $2, e.version, $3
FROM unnest($4::uuid[], $5::integer[]) AS e (resource_id, version)
"""

EVENT_JSON = """json_build_object(
    'id', e.id, 'resource_type', e.resource_type, 'resource_id', e.resource_id,
    'action', e.action, 'version', e.version, 'at', e.at, 'actor', e.actor,
    'changed_fields', e.changed_fields)"""

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


async def record_events(
    conn: Connection,
    resource_type: ResourceType,
    action: EventAction,
    actor: str | None,
    changed: Sequence[tuple[UUID, int]],
) -> None:
    """One event per (resource id, new version), in one statement."""
    if changed:
        await conn.execute(
            INSERT_EVENTS,
            resource_type,
            action,
            actor,
            [resource_id for resource_id, _ in changed],
            [version for _, version in changed],
        )


async def history(
    conn: Connection, resource_type: ResourceType, resource_id: UUID, after_id: int, limit: int
) -> list[HistoryEntry]:
    raw = await conn.fetchval(SELECT_HISTORY, resource_type, resource_id, after_id, limit)
    return msgspec.json.decode(raw, type=list[HistoryEntry])
