"""Rules for organizations."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from service.domain.crud import Page, ResourceService
from service.domain.history.schemas import ResourceType
from service.domain.organizations import repository
from service.domain.organizations.schemas import Organization
from service.kit.db import Connection
from service.kit.sql import Conditions, like_pattern


class OrganizationService(ResourceService[Organization]):
    table = repository.organizations
    resource_type = ResourceType.ORGANIZATION

    async def insert(self, conn: Connection, data: Any, id: UUID | None) -> UUID:
        return await repository.insert(conn, data, id)

    async def list(
        self,
        conn: Connection,
        *,
        q: str | None,
        updated_since: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> Page[Organization]:
        conditions = Conditions()
        if q:
            conditions.add(repository.NAME_MATCHES, q, like_pattern(q))
        if updated_since:
            conditions.add("o.updated_at >= {}", updated_since)
        return await self.page(conn, conditions, cursor, limit)


organization_service = OrganizationService()
