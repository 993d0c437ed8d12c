"""Rules for organizations."""

from __future__ import annotations

from uuid import UUID

from service.domain.crud import NamedResourceService
from service.domain.history.schemas import ResourceType
from service.domain.organizations import repository
from service.domain.organizations.schemas import Organization, OrganizationCreate, OrganizationPatch
from service.kit.db import Connection


class OrganizationService(
    NamedResourceService[Organization, OrganizationCreate, OrganizationPatch]
):
    table = repository.organizations
    name_match = repository.NAME_MATCHES
    name_rank = repository.NAME_RANK
    resource_type = ResourceType.ORGANIZATION

    async def insert(self, conn: Connection, data: OrganizationCreate, id: UUID | None) -> UUID:
        return await repository.insert(conn, data, id)


organization_service = OrganizationService()
