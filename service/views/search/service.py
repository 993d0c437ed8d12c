"""Ranked full-text search."""

from __future__ import annotations

import html

from service.domain.subjects import SubjectType
from service.kit.db import Connection
from service.views.search import repository
from service.views.search.schemas import SearchPosition, SearchResults
from service.web.auth import Audience
from service.web.http import decode_cursor, trim_page


async def search(
    conn: Connection,
    q: str,
    types: set[SubjectType],
    cursor: str | None,
    limit: int,
    audience: Audience,
) -> SearchResults:
    """Statements (quote, context, speaker) and documents (title, summary, body)
    matching `q` in web-search syntax, best first. Odd input never errors: a query
    without searchable words simply matches nothing."""
    position = decode_cursor(cursor, SearchPosition)
    q = _searchable(q)
    hits = await repository.search(
        conn,
        q,
        statements=SubjectType.STATEMENT in types,
        documents=SubjectType.DOCUMENT in types,
        after=(position.score, position.id) if position else None,
        limit=limit + 1,
        audience=audience,
    )
    hits, next_cursor = trim_page(hits, limit, lambda h: SearchPosition(score=h.score, id=h.id))
    for hit in hits:
        hit.snippet = _highlight(hit.snippet)
    return SearchResults(items=hits, next_cursor=next_cursor)


# Past a few hundred words a query only gets slower, not better: the rest is ignored.
SEARCHED_CHARACTERS = 1000


def _searchable(q: str) -> str:
    q = q.replace("\x00", " ")
    if len(q) <= SEARCHED_CHARACTERS:
        return q
    cut = q[:SEARCHED_CHARACTERS]
    return cut.rsplit(None, 1)[0] if " " in cut.strip() else cut


def _highlight(snippet: str) -> str:
    escaped = html.escape(snippet, quote=False)
    return escaped.replace(repository.MARK_START, "<mark>").replace(repository.MARK_END, "</mark>")
