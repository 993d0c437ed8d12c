"""Rules for people."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from service.domain.crud import Page, Reference, ResourceService
from service.domain.history.schemas import ResourceType
from service.domain.people import repository
from service.domain.people.schemas import Person
from service.domain.subjects import ORGANIZATIONS
from service.kit.db import Connection
from service.kit.sql import Conditions, like_pattern


class PersonService(ResourceService[Person]):
    table = repository.people
    resource_type = ResourceType.PERSON
    child_fields = frozenset({"affiliations"})

    def references(self, values: dict[str, Any]) -> Sequence[Reference]:
        return [
            Reference(f"affiliations[{i}].organization_id", ORGANIZATIONS, a.organization_id)
            for i, a in enumerate(values.get("affiliations") or ())
        ]

    async def insert(self, conn: Connection, data: Any, id: UUID | None) -> UUID:
        return await repository.insert(conn, data, id)

    async def replace_children(self, conn: Connection, id: UUID, values: dict[str, Any]) -> None:
        if "affiliations" in values:
            await repository.replace_affiliations(conn, id, values["affiliations"])

    async def list(
        self,
        conn: Connection,
        *,
        q: str | None,
        updated_since: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> Page[Person]:
        conditions = Conditions()
        if q:
            conditions.add(repository.NAMES_MATCH, q, like_pattern(q))
        if updated_since:
            conditions.add("p.updated_at >= {}", updated_since)
        return await self.page(conn, conditions, cursor, limit)


person_service = PersonService()
