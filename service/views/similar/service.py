"""Statements that repeat a claim, best first."""

from __future__ import annotations

from uuid import UUID

from service.kit.db import Connection
from service.kit.errors import NotFound
from service.views.similar import repository
from service.views.similar.schemas import SimilarPosition, SimilarStatements
from service.web.auth import Audience
from service.web.http import decode_cursor, trim_page


async def similar_statements(
    conn: Connection, id: UUID, cursor: str | None, limit: int, audience: Audience
) -> SimilarStatements:
    """The statements, by anyone, that say nearly what statement `id` says; 404 when
    the audience may not see that statement. Only what the audience may see is listed."""
    position = decode_cursor(cursor, SimilarPosition)
    found, items = await repository.similar(
        conn,
        id,
        (position.similarity, position.id) if position else None,
        limit + 1,
        audience,
    )
    if not found:
        raise NotFound(f"no statement with id {id}")
    page, next_cursor = trim_page(
        items,
        limit,
        lambda item: SimilarPosition(similarity=item.similarity, id=item.statement.id),
    )
    return SimilarStatements(items=page, next_cursor=next_cursor)
