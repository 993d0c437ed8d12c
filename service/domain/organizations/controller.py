"""HTTP routes for organizations."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import JSONBody

from service.domain.history.schemas import HistoryPage
from service.domain.organizations.schemas import (
    Organization,
    OrganizationCreate,
    OrganizationPage,
    OrganizationPatch,
)
from service.domain.organizations.service import organization_service as service
from service.kit.db import ReadDb, WriteTx
from service.web import http
from service.web.auth import Actor, AudienceDep, public_read, requires_write


class OrganizationController(Controller):
    path = "/v1/organizations"
    tags = ["Organizations"]
    guards = [public_read]

    @post(
        "/",
        guards=[requires_write],
        operation_id="CreateOrganization",
        summary="Create an organization",
        responses=http.responses(http.CREATE),
        response_headers=[http.ETAG_HEADER, http.LOCATION_HEADER],
    )
    async def create_organization(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[OrganizationCreate],
        tx: WriteTx,
        actor: Actor,
    ) -> Response[Organization]:
        created = await service.create(tx, data, actor)
        return http.entity_response(
            request,
            created,
            status_code=201,
            headers=http.location(request, f"{self.path}/{created.id}"),
        )

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

    @get(
        "/{id:uuid}",
        operation_id="GetOrganization",
        summary="Get an organization",
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=[http.ETAG_HEADER],
    )
    async def get_organization(
        self,
        request: Request[Any, Any, Any],
        db: ReadDb,
        audience: AudienceDep,
        id: http.ResourceId,
    ) -> Response[Organization]:
        return http.entity_response(request, await service.get(db, id, audience))

    @patch(
        "/{id:uuid}",
        guards=[requires_write],
        operation_id="UpdateOrganization",
        summary="Change an organization (If-Match required)",
        responses=http.responses(http.UPDATE),
        response_headers=[http.ETAG_HEADER],
    )
    async def update_organization(
        self,
        request: Request[Any, Any, Any],
        tx: WriteTx,
        actor: Actor,
        id: http.ResourceId,
        data: JSONBody[OrganizationPatch],
        if_match: http.IfMatchHeader = None,
    ) -> Response[Organization]:
        updated = await service.update(tx, id, data, http.IfMatch(if_match), actor)
        return http.entity_response(request, updated)

    @delete(
        "/{id:uuid}",
        guards=[requires_write],
        operation_id="DeleteOrganization",
        summary="Delete an organization (soft; If-Match required)",
        responses=http.responses(http.DELETE),
    )
    async def delete_organization(
        self, tx: WriteTx, actor: Actor, id: http.ResourceId, if_match: http.IfMatchHeader = None
    ) -> None:
        await service.delete(tx, id, http.IfMatch(if_match), actor)

    @get(
        "/{id:uuid}/history",
        operation_id="ListOrganizationHistory",
        summary="Every change to an organization, oldest first",
        responses=http.responses(http.HISTORY),
    )
    async def list_organization_history(
        self,
        db: ReadDb,
        audience: AudienceDep,
        id: http.ResourceId,
        cursor: http.Cursor = None,
        limit: http.Limit = 25,
    ) -> HistoryPage:
        return await service.history(db, id, cursor, limit, audience)
