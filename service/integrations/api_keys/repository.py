"""SQL for API keys."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from service.integrations.api_keys.schemas import ApiKey
from service.kit.db import Connection
from service.kit.sql import Position
from service.web.auth import Caller, Scope

# A live key's use is stamped on the lookup itself (one round trip); lookups are
# cached for a few seconds per process, so last_used_at is that precise.
FIND_LIVE_KEY = """
UPDATE api_keys SET last_used_at = now()
WHERE secret_sha256 = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
RETURNING id, name, scope
"""

KEY_JSON = """json_build_object(
    'id', k.id, 'name', k.name, 'scopes', json_build_array(k.scope), 'prefix', k.prefix,
    'created_at', k.created_at, 'last_used_at', k.last_used_at,
    'expires_at', k.expires_at, 'revoked_at', k.revoked_at)"""

INSERT_KEY = f"""
INSERT INTO api_keys AS k (name, scope, prefix, secret_sha256, expires_at)
VALUES ($1, $2, $3, $4, $5)
RETURNING {KEY_JSON}
"""

SELECT_KEY = f"SELECT {KEY_JSON} FROM api_keys k WHERE k.id = $1"

SELECT_PAGE = f"""
SELECT coalesce(json_agg(page.doc ORDER BY page.created_at DESC, page.id DESC), '[]') FROM (
    SELECT {KEY_JSON} AS doc, k.created_at, k.id FROM api_keys k
    WHERE $1::timestamptz IS NULL OR (k.created_at, k.id) < ($1::timestamptz, $2::uuid)
    ORDER BY k.created_at DESC, k.id DESC LIMIT $3
) AS page
"""

REVOKE_KEY = f"""
UPDATE api_keys k SET revoked_at = coalesce(k.revoked_at, now()) WHERE k.id = $1
RETURNING {KEY_JSON}
"""


async def find_live_key(conn: Connection, digest: bytes) -> Caller | None:
    row = await conn.fetchrow(FIND_LIVE_KEY, digest)
    if row is None:
        return None
    return Caller(key_id=row["id"], name=row["name"], scope=Scope(row["scope"]))


async def insert(
    conn: Connection,
    name: str,
    scope: Scope,
    prefix: str,
    digest: bytes,
    expires_at: datetime | None,
) -> ApiKey:
    raw = await conn.fetchval(INSERT_KEY, name, scope, prefix, digest, expires_at)
    return msgspec.json.decode(raw, type=ApiKey)


async def get(conn: Connection, id: UUID) -> ApiKey | None:
    raw = await conn.fetchval(SELECT_KEY, id)
    return None if raw is None else msgspec.json.decode(raw, type=ApiKey)


async def page(conn: Connection, after: Position | None, limit: int) -> list[ApiKey]:
    raw = await conn.fetchval(
        SELECT_PAGE, after.created_at if after else None, after.id if after else None, limit
    )
    return msgspec.json.decode(raw, type=list[ApiKey])


async def revoke(conn: Connection, id: UUID) -> ApiKey | None:
    raw = await conn.fetchval(REVOKE_KEY, id)
    return None if raw is None else msgspec.json.decode(raw, type=ApiKey)
