"""Rules for people."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from service.domain.crud import NamedResourceService, Reference
from service.domain.history.schemas import ResourceType
from service.domain.people import repository
from service.domain.people.schemas import Person, PersonCreate, PersonPatch
from service.domain.subjects import ORGANIZATIONS
from service.kit.db import Connection


class PersonService(NamedResourceService[Person, PersonCreate, PersonPatch]):
    table = repository.people
    name_match = repository.NAMES_MATCH
    name_rank = repository.NAMES_RANK
    resource_type = ResourceType.PERSON
    child_fields = frozenset({"affiliations"})

    def references(self, values: dict[str, Any]) -> Sequence[Reference]:
        return [
            Reference(f"affiliations[{i}].organization_id", ORGANIZATIONS, a.organization_id)
            for i, a in enumerate(values.get("affiliations") or ())
        ]

    async def insert(self, conn: Connection, data: PersonCreate, id: UUID | None) -> UUID:
        return await repository.insert(conn, data, id)

    async def replace_children(self, conn: Connection, id: UUID, values: dict[str, Any]) -> None:
        if "affiliations" in values:
            await repository.replace_affiliations(conn, id, values["affiliations"])


person_service = PersonService()
