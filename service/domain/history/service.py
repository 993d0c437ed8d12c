"""Reading a resource's history."""

from __future__ import annotations

from uuid import UUID

from service.domain.history import repository
from service.domain.history.schemas import START, HistoryPage, HistoryPosition, ResourceType
from service.kit.db import Connection
from service.kit.errors import NotFound
from service.web.http import decode_cursor, encode_cursor, trim_page


async def list_history(
    conn: Connection, resource_type: ResourceType, resource_id: UUID, cursor: str | None, limit: int
) -> HistoryPage:
    """Every change to one resource, oldest first; a deleted resource keeps its history.

    404 when the log has never heard of the resource.
    """
    position = decode_cursor(cursor, HistoryPosition)
    entries = await repository.history(
        conn, resource_type, resource_id, position.after_id if position else 0, limit + 1
    )
    if not entries and position is None:
        raise NotFound(f"no {resource_type} with id {resource_id}")
    entries, next_cursor = trim_page(entries, limit, lambda e: HistoryPosition(after_id=e.id))
    return HistoryPage(items=entries, next_cursor=next_cursor)


async def head_cursor(conn: Connection) -> str:
    """A cursor from which the feed lists every change not yet in the current snapshot
    (and, at most, a few that are). In a REPEATABLE READ transaction, run it first: it
    then belongs to the snapshot every later read of the transaction sees."""
    return encode_cursor(await repository.feed_head(conn) or START)
