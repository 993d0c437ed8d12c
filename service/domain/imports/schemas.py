from __future__ import annotations

from enum import StrEnum
from uuid import UUID

import msgspec

from service.kit.errors import FieldError


class ImportOutcome(StrEnum):
    """`created`: this import made the draft assessment (and whatever it needed);
    `matched`: the review URL was imported before (or earlier in this body, or by the
    committed batches of an import of it that failed later on), nothing changed; `skipped`: the review could not be imported, `errors` says why."""

    CREATED = "created"
    MATCHED = "matched"
    SKIPPED = "skipped"


class ImportedReview(msgspec.Struct, kw_only=True):
    """What became of one ClaimReview of the body. `index` is its position among the
    body's reviews (the array, `@graph` or `dataFeedElement` order, from 0); `errors`
    names the fields that made it skipped, and what a created review left out (an
    unreadable date, say)."""

    index: int
    url: str | None
    outcome: ImportOutcome
    statement_id: UUID | None
    assessment_id: UUID | None
    errors: list[FieldError]


class ImportReport(msgspec.Struct, kw_only=True):
    """Every review of the body, in order, and how many had each outcome."""

    items: list[ImportedReview]
    created: int
    matched: int
    skipped: int
