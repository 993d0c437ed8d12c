"""Ranked full-text search."""

from __future__ import annotations

import html

from service.db import Connection
from service.http import decode_cursor, encode_cursor
from service.search import repository
from service.search.schemas import SearchPosition, SearchResults
from service.subjects import SubjectType


async def search(
    conn: Connection, q: str, types: set[SubjectType], cursor: str | None, limit: int
) -> SearchResults:
    """Statements (quote, context, speaker) and documents (title, summary, body)
    matching `q` in web-search syntax, best first. Odd input never errors: a query
    without searchable words simply matches nothing."""
    position = decode_cursor(cursor, SearchPosition)
    hits = await repository.search(
        conn,
        q,
        statements=SubjectType.STATEMENT in types,
        documents=SubjectType.DOCUMENT in types,
        after=(position.score, position.id) if position else None,
        limit=limit + 1,
    )
    next_cursor = None
    if len(hits) > limit:
        hits = hits[:limit]
        next_cursor = encode_cursor(SearchPosition(score=hits[-1].score, id=hits[-1].id))
    for hit in hits:
        hit.snippet = _highlight(hit.snippet)
    return SearchResults(items=hits, next_cursor=next_cursor)


def _highlight(snippet: str) -> str:
    escaped = html.escape(snippet, quote=False)
    return escaped.replace(repository.MARK_START, "<mark>").replace(repository.MARK_END, "</mark>")
