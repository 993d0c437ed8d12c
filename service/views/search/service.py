"""Ranked full-text search."""

from __future__ import annotations

import html

from service.domain.subjects import SubjectType
from service.kit import text_query
from service.kit.db import Connection
from service.views.search import repository
from service.views.search.schemas import SearchHit, SearchPosition, SearchResults
from service.web.auth import Audience
from service.web.http import decode_cursor, trim_page

# A first page with fewer hits than this asks whether the query was misspelled.
SUGGEST_BELOW = 3


async def search(
    conn: Connection,
    q: str,
    types: set[SubjectType],
    cursor: str | None,
    limit: int,
    audience: Audience,
    language: str | None = None,
) -> SearchResults:
    """Statements (quote, context, speaker) and documents (title, summary, body)
    matching `q` in web-search syntax (plus `word*` for words starting with it), in
    every language, best first. Odd input never errors: a query without searchable
    words simply matches nothing.

    When the first page finds fewer than SUGGEST_BELOW hits, each word the record does
    not contain is replaced by the closest one it does; if that query finds more, its
    hits are the answer and `suggestion` says what was searched instead."""
    position = decode_cursor(cursor, SearchPosition)
    q = _searchable(q)

    async def run(query: str) -> tuple[list[SearchHit], str | None]:
        parsed = text_query.parse(query)
        hits = await repository.search(
            conn,
            parsed.text,
            parsed.prefixes,
            phrases=parsed.phrases,
            language=language,
            statements=SubjectType.STATEMENT in types,
            documents=SubjectType.DOCUMENT in types,
            after=(position.score, position.id) if position else None,
            limit=limit + 1,
            audience=audience,
        )
        return trim_page(hits, limit, lambda h: SearchPosition(score=h.score, id=h.id))

    hits, next_cursor = await run(q)
    suggestion = None
    if position is None and len(hits) < SUGGEST_BELOW:
        corrected = await _corrected(conn, q)
        if corrected is not None:
            better, better_cursor = await run(corrected)
            if len(better) > len(hits):
                hits, next_cursor, suggestion = better, better_cursor, corrected
    for hit in hits:
        hit.snippet = _highlight(hit.snippet)
    return SearchResults(items=hits, next_cursor=next_cursor, suggestion=suggestion)


async def _corrected(conn: Connection, q: str) -> str | None:
    """`q` with its unknown words replaced by the record's closest ones; None when
    there is nothing to correct."""
    words = text_query.correctable_words(q)
    if not words:
        return None
    corrections = await repository.suggest_words(conn, sorted(set(words)))
    if not corrections:
        return None
    return text_query.replace_words(q, corrections)


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
