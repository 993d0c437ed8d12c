"""What statements and documents share as the subjects of relations and assessments:
appearances (each publisher a live organization; a PATCH rewrites them all) and the list
filters on full text, tags and the current published verdict."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from service.domain import appearances, verification
from service.domain.crud import C, P, Reference, ResourceService, T
from service.domain.subjects import Verdict
from service.kit import text_query
from service.kit.db import Connection
from service.kit.sql import Conditions


class SubjectService(ResourceService[T, C, P]):
    """The write flow and list filters of a statement or a document."""

    # The appearances column that points at this resource's table.
    owner: appearances.Owner
    # The repository's full-text condition: the query in web-search syntax, then its
    # prefixes (kit/text_query.py).
    text_match: str
    child_fields = frozenset({"appearances"})

    def references(self, values: dict[str, Any]) -> Sequence[Reference]:
        return appearances.publisher_references(values)

    async def replace_children(self, conn: Connection, id: UUID, values: dict[str, Any]) -> None:
        if "appearances" in values:
            await appearances.replace(conn, self.owner, id, values["appearances"])

    def shared_conditions(
        self,
        *,
        q: str | None,
        updated_since: datetime | None,
        tag: str | None,
        verdict: Verdict | None,
        language: str | None = None,
    ) -> Conditions:
        """The filters statements and documents have in common; each adds its own.
        `language` is a BCP 47 tag: `ar` also finds `ar-IQ`."""
        alias = self.table.alias
        conditions = Conditions()
        if q:
            query = text_query.parse(q)
            conditions.add(self.text_match, query.text, query.prefixes)
        if language:
            conditions.add(
                f"(lower({alias}.language) = lower({{0}})"
                f" OR lower({alias}.language) LIKE lower({{0}}) || '-%')",
                language,
            )
        if updated_since:
            conditions.add(f"{alias}.updated_at >= {{}}", updated_since)
        if tag:
            conditions.add(f"{alias}.tags @> ARRAY[{{}}::text]", tag)
        if verdict:
            conditions.add(verification.current_verdict_is(f"{alias}.id"), verdict)
        return conditions
