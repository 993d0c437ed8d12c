from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec

from service.views.items import StatementItem


class SimilarStatement(msgspec.Struct, kw_only=True):
    """A statement close to the one asked about. `similarity` runs from 0 (nothing in
    common) to 1 (the same words, the same text): the mean of the trigram similarity
    of the two quotes and the share of their (stemmed) words they have in common."""

    similarity: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
    statement: StatementItem


class SimilarStatements(msgspec.Struct, kw_only=True):
    items: list[SimilarStatement]
    next_cursor: str | None


class SimilarPosition(msgspec.Struct, array_like=True, frozen=True):
    similarity: float
    id: UUID
