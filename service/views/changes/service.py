"""Reading the change feed."""

from __future__ import annotations

from collections.abc import Collection

from service.domain.history.schemas import START, FeedPosition, ResourceType
from service.kit.db import Connection
from service.views.changes import repository
from service.views.changes.schemas import ChangePage
from service.web.auth import Audience
from service.web.http import decode_cursor, encode_cursor


async def list_changes(
    conn: Connection,
    cursor: str | None,
    limit: int,
    types: Collection[ResourceType] | None = None,
    audience: Audience = Audience.NEWSROOM,
) -> ChangePage:
    """The next events after `cursor` (from the beginning without one), in commit order.

    `next_cursor` is always given. After a full page it is the last item's position.
    After a short page everything final has been read, so it moves to the newest final
    event even if this caller may not see it (or filtered it out): events hidden from
    the caller are then stepped over once, not rescanned on every poll. With nothing
    new at all it is the position the caller sent.
    """
    position = decode_cursor(cursor, FeedPosition) or START
    found = await repository.read_feed(conn, position, limit, types, audience)
    if len(found.items) == limit and found.last is not None:
        after = found.last
    else:
        after = max(position, found.end or START)
    return ChangePage(items=found.items, next_cursor=encode_cursor(after))
