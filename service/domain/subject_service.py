"""What statements and documents share as the subjects of relations and assessments:
appearances (each publisher a live organization; a PATCH rewrites them all) and the list
filters on full text, tags and the current published verdict."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from service.domain import appearances, verification
from service.domain.crud import C, P, Reference, ResourceService, T, refuse_missing
from service.domain.subjects import Referent, Verdict
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

    async def create(
        self, conn: Connection, data: C, actor: str | None, *, id: UUID | None = None
    ) -> T:
        """The resource, its appearances and its `created` event, with every reference
        checked, in one statement (`create_row`); 422 naming each reference not live."""
        wanted = self.references(msgspec.structs.asdict(data))
        created, live = await self.create_row(conn, data, id, actor, wanted)
        refuse_missing(wanted, live)
        assert created is not None  # every reference was live, so the row was inserted
        return msgspec.json.decode(created, type=self.table.struct)

    async def apply(
        self, conn: Connection, id: UUID, changes: dict[str, Any], actor: str | None
    ) -> T:
        """The PATCH's columns, its appearances (when it changes them) and its `updated`
        event, with every reference checked, in one statement (`update_row`)."""
        wanted = self.references(changes)
        columns = {k: v for k, v in changes.items() if k not in self.child_fields}
        updated, live = await self.update_row(
            conn, id, columns, changes.get("appearances"), sorted(changes), actor, wanted
        )
        refuse_missing(wanted, live)
        assert updated is not None  # every reference was live, so the row was updated
        return msgspec.json.decode(updated, type=self.table.struct)

    @abstractmethod
    async def create_row(
        self,
        conn: Connection,
        data: C,
        id: UUID | None,
        actor: str | None,
        wanted: Sequence[Reference],
    ) -> tuple[str | None, dict[Referent, set[UUID]]]:
        """The repository's one-statement create (`crud.checked_write_sql`): the new
        representation as JSON (None when a reference of `wanted` is not live) and the
        live ids of each referent."""

    @abstractmethod
    async def update_row(
        self,
        conn: Connection,
        id: UUID,
        columns: dict[str, Any],
        new_appearances: Sequence[appearances.Appearance] | None,
        changed: list[str],
        actor: str | None,
        wanted: Sequence[Reference],
    ) -> tuple[str | None, dict[Referent, set[UUID]]]:
        """The repository's one-statement PATCH of the locked row `id`, as `create_row`."""

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
