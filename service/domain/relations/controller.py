"""HTTP routes for relations. There is no PATCH: a relation is created and deleted,
not edited (a PATCH answers 405)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import JSONBody, QueryParameter

from service.domain.history.schemas import HistoryPage
from service.domain.relations.schemas import Relation, RelationCreate, RelationPage, RelationType
from service.domain.relations.service import relation_service as service
from service.kit.db import ReadDb, WriteTx
from service.web import http
from service.web.auth import Actor, AudienceDep, public_read, requires_write


class RelationController(Controller):
    path = "/v1/relations"
    tags = ["Relations"]
    guards = [public_read]

    @post(
        "/",
        guards=[requires_write],
        operation_id="CreateRelation",
        summary="Create a relation between two statements or documents",
        description=(
            "422 when an end is missing, deleted, not of the type given, or the same"
            " resource as the other end; 409 when the same live relation exists."
        ),
        responses=http.responses((*http.CREATE, 409)),
        response_headers=[http.ETAG_HEADER, http.LOCATION_HEADER],
    )
    async def create_relation(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[RelationCreate],
        tx: WriteTx,
        actor: Actor,
    ) -> Response[Relation]:
        created = await service.create(tx, data, actor)
        return http.entity_response(
            request,
            created,
            status_code=201,
            headers=http.location(request, f"{self.path}/{created.id}"),
        )

    @get(
        "/",
        operation_id="ListRelations",
        summary="List relations, newest first",
        responses=http.responses(http.LIST),
    )
    async def list_relations(
        self,
        db: ReadDb,
        audience: AudienceDep,
        source_id: Annotated[
            UUID | None, QueryParameter(description="Only relations from this resource.")
        ] = None,
        target_id: Annotated[
            UUID | None, QueryParameter(description="Only relations to this resource.")
        ] = None,
        resource_id: Annotated[
            UUID | None,
            QueryParameter(description="Only relations with this resource at either end."),
        ] = None,
        relation_type: Annotated[
            RelationType | None,
            QueryParameter(name="type", description="Only relations of this type."),
        ] = None,
        updated_since: http.UpdatedSince = None,
        cursor: http.Cursor = None,
        limit: http.Limit = 25,
    ) -> RelationPage:
        page = await service.list(
            db,
            source_id=source_id,
            target_id=target_id,
            resource_id=resource_id,
            type=relation_type,
            updated_since=updated_since,
            audience=audience,
            cursor=cursor,
            limit=limit,
        )
        return RelationPage(items=page.items, next_cursor=page.next_cursor)

    @get(
        "/{id:uuid}",
        operation_id="GetRelation",
        summary="Get a relation",
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=[http.ETAG_HEADER],
    )
    async def get_relation(
        self,
        request: Request[Any, Any, Any],
        db: ReadDb,
        audience: AudienceDep,
        id: http.ResourceId,
    ) -> Response[Relation]:
        return http.entity_response(request, await service.get(db, id, audience))

    @delete(
        "/{id:uuid}",
        guards=[requires_write],
        operation_id="DeleteRelation",
        summary="Delete a relation (soft; If-Match required)",
        responses=http.responses(http.DELETE),
    )
    async def delete_relation(
        self, tx: WriteTx, actor: Actor, id: http.ResourceId, if_match: http.IfMatchHeader = None
    ) -> None:
        await service.delete(tx, id, http.IfMatch(if_match), actor)

    @get(
        "/{id:uuid}/history",
        operation_id="ListRelationHistory",
        summary="Every change to a relation, oldest first",
        responses=http.responses(http.HISTORY),
    )
    async def list_relation_history(
        self,
        db: ReadDb,
        audience: AudienceDep,
        id: http.ResourceId,
        cursor: http.Cursor = None,
        limit: http.Limit = 25,
    ) -> HistoryPage:
        return await service.history(db, id, cursor, limit, audience)
