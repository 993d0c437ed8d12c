from __future__ import annotations

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


class SearchPosition(msgspec.Struct, array_like=True, frozen=True):
    score: float
    id: UUID
