"""HTTP routes for organizations."""

from __future__ import annotations

from litestar import get

from service.domain.organizations.schemas import (
    Organization,
    OrganizationCreate,
    OrganizationPage,
    OrganizationPatch,
)
from service.domain.organizations.service import organization_service as service
from service.domain.routes import ResourceController, ResourceRoutes
from service.kit.db import ReadDb
from service.web import http
from service.web.auth import public_read

ORGANIZATION_ROUTES = ResourceRoutes(
    name="Organization",
    function="organization",
    noun="an organization",
    service=service,
    struct=Organization,
    create=OrganizationCreate,
    patch=OrganizationPatch,
)


class OrganizationController(ResourceController, routes=ORGANIZATION_ROUTES):
    path = "/v1/organizations"
    tags = ["Organizations"]
    guards = [public_read]

    @get(
        "/",
        operation_id="ListOrganizations",
        summary="List organizations, newest first",
        responses=http.responses(http.LIST),
    )
    async def list_organizations(
        self,
        db: ReadDb,
        q: http.NameQuery = None,
        updated_since: http.UpdatedSince = None,
        cursor: http.Cursor = None,
        limit: http.Limit = 25,
    ) -> OrganizationPage:
        page = await service.list(db, q=q, updated_since=updated_since, cursor=cursor, limit=limit)
        return OrganizationPage(items=page.items, next_cursor=page.next_cursor)
