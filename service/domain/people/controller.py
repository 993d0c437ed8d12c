"""HTTP routes for people."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import JSONBody

from service.domain.history.schemas import HistoryPage
from service.domain.people.schemas import (
    Person,
    PersonCreate,
    PersonPage,
    PersonPatch,
)
from service.domain.people.service import person_service as service
from service.kit.db import ReadDb, WriteTx
from service.web import http
from service.web.auth import Actor, AudienceDep, public_read, requires_write


class PersonController(Controller):
    path = "/v1/people"
    tags = ["People"]
    guards = [public_read]

    @post(
        "/",
        guards=[requires_write],
        operation_id="CreatePerson",
        summary="Create a person",
        responses=http.responses(http.CREATE),
        response_headers=[http.ETAG_HEADER, http.LOCATION_HEADER],
    )
    async def create_person(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[PersonCreate],
        tx: WriteTx,
        actor: Actor,
    ) -> Response[Person]:
        created = await service.create(tx, data, actor)
        return http.entity_response(
            request,
            created,
            status_code=201,
            headers=http.location(request, f"{self.path}/{created.id}"),
        )

    @get(
        "/",
        operation_id="ListPeople",
        summary="List people, newest first",
        responses=http.responses(http.LIST),
    )
    async def list_people(
        self,
        db: ReadDb,
        q: http.NameQuery = None,
        updated_since: http.UpdatedSince = None,
        cursor: http.Cursor = None,
        limit: http.Limit = 25,
    ) -> PersonPage:
        page = await service.list(db, q=q, updated_since=updated_since, cursor=cursor, limit=limit)
        return PersonPage(items=page.items, next_cursor=page.next_cursor)

    @get(
        "/{id:uuid}",
        operation_id="GetPerson",
        summary="Get a person",
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=[http.ETAG_HEADER],
    )
    async def get_person(
        self,
        request: Request[Any, Any, Any],
        db: ReadDb,
        audience: AudienceDep,
        id: http.ResourceId,
    ) -> Response[Person]:
        return http.entity_response(request, await service.get(db, id, audience))

    @patch(
        "/{id:uuid}",
        guards=[requires_write],
        operation_id="UpdatePerson",
        summary="Change a person (If-Match required)",
        responses=http.responses(http.UPDATE),
        response_headers=[http.ETAG_HEADER],
    )
    async def update_person(
        self,
        request: Request[Any, Any, Any],
        tx: WriteTx,
        actor: Actor,
        id: http.ResourceId,
        data: JSONBody[PersonPatch],
        if_match: http.IfMatchHeader = None,
    ) -> Response[Person]:
        updated = await service.update(tx, id, data, http.IfMatch(if_match), actor)
        return http.entity_response(request, updated)

    @delete(
        "/{id:uuid}",
        guards=[requires_write],
        operation_id="DeletePerson",
        summary="Delete a person (soft; If-Match required)",
        responses=http.responses(http.DELETE),
    )
    async def delete_person(
        self, tx: WriteTx, actor: Actor, id: http.ResourceId, if_match: http.IfMatchHeader = None
    ) -> None:
        await service.delete(tx, id, http.IfMatch(if_match), actor)

    @get(
        "/{id:uuid}/history",
        operation_id="ListPersonHistory",
        summary="Every change to a person, oldest first",
        responses=http.responses(http.HISTORY),
    )
    async def list_person_history(
        self,
        db: ReadDb,
        audience: AudienceDep,
        id: http.ResourceId,
        cursor: http.Cursor = None,
        limit: http.Limit = 25,
    ) -> HistoryPage:
        return await service.history(db, id, cursor, limit, audience)
