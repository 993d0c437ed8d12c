from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec

from service.domain.subjects import SubjectType
from service.views.items import DocumentItem, StatementItem


class SearchHit(msgspec.Struct, kw_only=True):
    """One ranked match. `snippet` is HTML: the stored text escaped, the matched words
    wrapped in `<mark>`."""

    type: SubjectType
    id: UUID
    score: float
    snippet: str
    item: StatementItem | DocumentItem


class SearchResults(msgspec.Struct, kw_only=True):
    items: list[SearchHit]
    next_cursor: str | None
    suggestion: Annotated[
        str | None,
        msgspec.Meta(
            description="When the query found nothing or very little and a spelling "
            "correction finds more: the corrected query, whose hits `items` are "
            '("results for ..."). Otherwise null. Later pages (with `cursor`) page '
            "through the corrected query: send `q=<suggestion>`."
        ),
    ] = None


class SearchPosition(msgspec.Struct, array_like=True, frozen=True):
    score: float
    id: UUID
