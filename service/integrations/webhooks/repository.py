"""SQL for webhooks, their deliveries (the outbox) and delivery attempts.

Deliveries are never inserted here: the trigger on `events` (migration 0004) enqueues
them in the transaction of the change itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from service.integrations.webhooks.schemas import (
    DeliveryPosition,
    DeliveryStatus,
    EventType,
    Webhook,
    WebhookDelivery,
)
from service.kit.db import Connection
from service.kit.sql import Position

WEBHOOK_JSON = """json_build_object(
    'id', w.id, 'url', w.url, 'events', w.events, 'active', w.active,
    'version', w.version, 'created_at', w.created_at, 'updated_at', w.updated_at)"""

INSERT_WEBHOOK = f"""
INSERT INTO webhooks AS w (url, events, active, secret) VALUES ($1, $2, $3, $4)
RETURNING {WEBHOOK_JSON}
"""

SELECT_WEBHOOK = f"SELECT {WEBHOOK_JSON} FROM webhooks w WHERE w.id = $1 AND w.deleted_at IS NULL"
SELECT_WEBHOOK_FOR_UPDATE = f"{SELECT_WEBHOOK} FOR UPDATE"

SELECT_PAGE = f"""
SELECT coalesce(json_agg(page.doc ORDER BY page.created_at DESC, page.id DESC), '[]') FROM (
    SELECT {WEBHOOK_JSON} AS doc, w.created_at, w.id FROM webhooks w
    WHERE w.deleted_at IS NULL
      AND ($1::timestamptz IS NULL OR (w.created_at, w.id) < ($1::timestamptz, $2::uuid))
    ORDER BY w.created_at DESC, w.id DESC LIMIT $3
) AS page
"""

UPDATE_WEBHOOK = f"""
UPDATE webhooks w SET url = $2, events = $3, active = $4 WHERE w.id = $1
RETURNING {WEBHOOK_JSON}
"""

SOFT_DELETE = "UPDATE webhooks SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL"

WEBHOOK_EXISTS = "SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = $1 AND deleted_at IS NULL)"

# ---- deliveries, as the API lists them --------------------------------------------------

DELIVERY_JSON = """json_build_object(
    'id', d.id, 'webhook_id', d.webhook_id, 'event_id', d.event_id,
    'event_type', e.resource_type::text || '.' || e.action::text,
    'data', json_build_object(
        'id', e.resource_id, 'type', e.resource_type, 'version', e.version, 'action', e.action),
    'status', d.status, 'attempts', d.attempts,
    'last_status_code', d.last_status_code, 'last_error', d.last_error,
    'next_attempt_at', d.next_attempt_at, 'delivered_at', d.delivered_at,
    'created_at', d.created_at, 'updated_at', d.updated_at,
    'attempt_log', coalesce((
        SELECT json_agg(json_build_object(
            'number', a.number, 'attempted_at', a.attempted_at, 'duration_ms', a.duration_ms,
            'status_code', a.status_code, 'error', a.error) ORDER BY a.number)
        FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]'))"""

# Newest event first; (webhook_id, event_id) is unique, so event_id alone is the keyset.
SELECT_DELIVERIES = f"""
SELECT coalesce(json_agg(page.doc ORDER BY page.event_id DESC), '[]') FROM (
    SELECT {DELIVERY_JSON} AS doc, d.event_id
    FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
    WHERE d.webhook_id = $1
      AND ($2::webhook_delivery_status IS NULL OR d.status = $2::webhook_delivery_status)
      AND ($3::bigint IS NULL OR d.event_id < $3::bigint)
    ORDER BY d.event_id DESC LIMIT $4
) AS page
"""

# ---- the worker's side of the outbox ----------------------------------------------------

# One statement, so it commits on its own: SKIP LOCKED passes over rows another worker
# is claiming this instant, and moving next_attempt_at past the lease makes the claimed
# rows not due for everyone else once this commits (a worker whose FOR UPDATE waited on
# the row re-checks `next_attempt_at <= now()` against the new version and drops it).
# No lock is held while the HTTP request is in flight; if a worker dies mid-delivery
# the lease runs out and another worker retries.
CLAIM_DUE = """
WITH due AS (
    SELECT id FROM webhook_deliveries
    WHERE status IN ('pending', 'failed') AND next_attempt_at <= now()
    ORDER BY next_attempt_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE webhook_deliveries d SET next_attempt_at = now() + make_interval(secs => $2)
    FROM due WHERE d.id = due.id
    RETURNING d.id, d.webhook_id, d.event_id, d.attempts
)
SELECT c.id, c.attempts, c.webhook_id, w.url, w.secret,
       w.active AND w.deleted_at IS NULL AS live,
       e.resource_type::text AS resource_type, e.resource_id, e.action::text AS action,
       e.version, e.at
FROM claimed c
JOIN webhooks w ON w.id = c.webhook_id
JOIN events e ON e.id = c.event_id
"""

# `attempts = $7` makes recording conditional on nobody having recorded this attempt
# since it was claimed (only possible if the lease ran out mid-delivery).
RECORD_RESULT = """
UPDATE webhook_deliveries SET
    status = $2,
    attempts = attempts + 1,
    next_attempt_at = CASE WHEN $3::float8 IS NULL THEN NULL
                           ELSE now() + make_interval(secs => $3::float8) END,
    last_status_code = $4,
    last_error = $5,
    delivered_at = CASE WHEN $2 = 'succeeded'::webhook_delivery_status THEN now() END,
    updated_at = now()
WHERE id = $1 AND attempts = $6 AND status IN ('pending', 'failed')
RETURNING attempts
"""

INSERT_ATTEMPT = """
INSERT INTO webhook_attempts (delivery_id, number, attempted_at, duration_ms, status_code, error)
VALUES ($1, $2, $3, $4, $5, $6)
"""

GIVE_UP = """
UPDATE webhook_deliveries
SET status = 'dead', next_attempt_at = NULL, last_error = $2, updated_at = now()
WHERE id = $1 AND status IN ('pending', 'failed')
"""

# The receiver answered 410 Gone. A deleted webhook is frozen (and delivers nothing).
DISABLE_WEBHOOK = (
    "UPDATE webhooks SET active = false WHERE id = $1 AND active AND deleted_at IS NULL"
)


# Retention: finished deliveries (succeeded or dead) last changed before the cut-off go,
# with their attempts, oldest first and a batch at a time (index of migration 0006).
# Pending and failed ones are never deleted, whatever their age. One statement: the
# foreign key from the attempts is checked at its end, when both are gone. SKIP LOCKED:
# workers purging at the same moment take different rows.
PURGE_FINISHED = """
WITH doomed AS (
    SELECT id FROM webhook_deliveries
    WHERE status IN ('succeeded', 'dead') AND updated_at < now() - make_interval(days => $1)
    ORDER BY updated_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), attempts AS (
    DELETE FROM webhook_attempts a USING doomed WHERE a.delivery_id = doomed.id
)
DELETE FROM webhook_deliveries d USING doomed WHERE d.id = doomed.id
"""


# ---- webhooks ----------------------------------------------------------------------------------


async def insert(
    conn: Connection, url: str, events: Sequence[EventType], active: bool, secret: str
) -> Webhook:
    raw = await conn.fetchval(INSERT_WEBHOOK, url, list(events), active, secret)
    return msgspec.json.decode(raw, type=Webhook)


async def get(conn: Connection, id: UUID, *, lock: bool = False) -> Webhook | None:
    raw = await conn.fetchval(SELECT_WEBHOOK_FOR_UPDATE if lock else SELECT_WEBHOOK, id)
    return None if raw is None else msgspec.json.decode(raw, type=Webhook)


async def exists(conn: Connection, id: UUID) -> bool:
    return bool(await conn.fetchval(WEBHOOK_EXISTS, id))


async def page(conn: Connection, after: Position | None, limit: int) -> list[Webhook]:
    raw = await conn.fetchval(
        SELECT_PAGE, after.created_at if after else None, after.id if after else None, limit
    )
    return msgspec.json.decode(raw, type=list[Webhook])


async def update(
    conn: Connection, id: UUID, url: str, events: Sequence[EventType], active: bool
) -> Webhook:
    raw = await conn.fetchval(UPDATE_WEBHOOK, id, url, list(events), active)
    return msgspec.json.decode(raw, type=Webhook)


async def soft_delete(conn: Connection, id: UUID) -> None:
    await conn.execute(SOFT_DELETE, id)


async def deliveries(
    conn: Connection,
    webhook_id: UUID,
    status: DeliveryStatus | None,
    after: DeliveryPosition | None,
    limit: int,
) -> list[WebhookDelivery]:
    raw = await conn.fetchval(
        SELECT_DELIVERIES, webhook_id, status, after.event_id if after else None, limit
    )
    return msgspec.json.decode(raw, type=list[WebhookDelivery])


# ---- the worker -------------------------------------------------------------------------------


async def claim_due(conn: Connection, limit: int, lease_seconds: float) -> list[asyncpg.Record]:
    """Take up to `limit` due deliveries for `lease_seconds`, with what sending needs."""
    return await conn.fetch(CLAIM_DUE, limit, lease_seconds)


async def record_attempt(
    conn: Connection,
    delivery_id: UUID,
    attempts_before: int,
    *,
    status: DeliveryStatus,
    retry_in_seconds: float | None,
    attempted_at: datetime,
    duration_ms: int,
    status_code: int | None,
    error: str | None,
) -> bool:
    """Record one attempt and the delivery's new state, in the caller's transaction;
    False (nothing written) when the attempt was already recorded by someone else."""
    recorded = await conn.fetchval(
        RECORD_RESULT,
        delivery_id,
        status,
        retry_in_seconds,
        status_code,
        error,
        attempts_before,
    )
    if recorded is None:
        return False
    await conn.execute(
        INSERT_ATTEMPT,
        delivery_id,
        attempts_before + 1,
        attempted_at,
        duration_ms,
        status_code,
        error,
    )
    return True


async def give_up(conn: Connection, delivery_id: UUID, reason: str) -> None:
    await conn.execute(GIVE_UP, delivery_id, reason)


async def disable(conn: Connection, webhook_id: UUID) -> None:
    await conn.execute(DISABLE_WEBHOOK, webhook_id)


async def purge_finished(conn: Connection, older_than_days: int, limit: int) -> int:
    """Delete up to `limit` finished deliveries (and their attempts) last changed more
    than `older_than_days` days ago; returns how many went."""
    status = await conn.execute(PURGE_FINISHED, older_than_days, limit)
    return int(status.rsplit(" ", 1)[-1])
