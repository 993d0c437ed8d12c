"""Issuing, listing and revoking API keys."""

from __future__ import annotations

import secrets
import string
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec

from service.integrations.api_keys import repository
from service.integrations.api_keys.schemas import ApiKey, ApiKeyPage, NewApiKey
from service.kit.db import Connection
from service.kit.errors import NotFound
from service.kit.notifications import notify
from service.kit.sql import Position
from service.web.auth import KEY_PREFIX, Scope, highest, secret_digest
from service.web.http import decode_cursor, trim_page

_PREFIX_ALPHABET = string.ascii_lowercase + string.digits


def new_secret() -> tuple[str, str]:
    """A fresh (prefix, secret): `vr_` and 8 characters that identify the key in
    listings and logs, then 256 random bits. Only the secret's hash is stored."""
    prefix = KEY_PREFIX + "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


async def create_key(
    conn: Connection, name: str, scopes: Sequence[Scope], expires_at: datetime | None = None
) -> NewApiKey:
    """Issue a key with the highest of `scopes` (which includes the lower ones)."""
    scope = highest(scopes)
    prefix, secret = new_secret()
    key = await repository.insert(conn, name, scope, prefix, secret_digest(secret), expires_at)
    return NewApiKey(**msgspec.structs.asdict(key), secret=secret)


async def list_keys(conn: Connection, cursor: str | None, limit: int) -> ApiKeyPage:
    after = decode_cursor(cursor, Position)
    keys = await repository.page(conn, after, limit + 1)
    keys, next_cursor = trim_page(keys, limit, lambda k: Position(created_at=k.created_at, id=k.id))
    return ApiKeyPage(items=keys, next_cursor=next_cursor)


async def get_key(conn: Connection, id: UUID) -> ApiKey:
    key = await repository.get(conn, id)
    if key is None:
        raise NotFound(f"no API key with id {id}")
    return key


async def revoke_key(conn: Connection, id: UUID) -> ApiKey:
    """Revoke for good (idempotent); the key answers 401 from then on, in every
    process, as soon as this commits (the processes' key caches are told to forget)."""
    key = await repository.revoke(conn, id)
    if key is None:
        raise NotFound(f"no API key with id {id}")
    await notify(conn, "api_keys")
    return key
