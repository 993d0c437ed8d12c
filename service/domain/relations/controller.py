"""HTTP routes for relations. There is no PATCH: a relation is created and deleted,
not edited (a PATCH answers 405)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import get
from litestar.params import QueryParameter

from service.domain.relations.schemas import Relation, RelationCreate, RelationPage, RelationType
from service.domain.relations.service import relation_service as service
from service.domain.routes import ResourceController, ResourceRoutes, Texts
from service.kit.db import ReadDb
from service.web import http
from service.web.auth import AudienceDep, public_read

RELATION_ROUTES = ResourceRoutes(
    name="Relation",
    function="relation",
    noun="a relation",
    service=service,
    struct=Relation,
    create=RelationCreate,
    create_texts=Texts(
        "Create a relation between two statements or documents",
        description=(
            "422 when an end is missing, deleted, not of the type given, or the same"
            " resource as the other end; 409 when the same live relation exists."
        ),
        also=(409,),
    ),
)


class RelationController(ResourceController, routes=RELATION_ROUTES):
    path = "/v1/relations"
    tags = ["Relations"]
    guards = [public_read]

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
