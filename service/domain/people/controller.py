"""HTTP routes for people."""

from __future__ import annotations

from litestar import get

from service.domain.people.schemas import (
    Person,
    PersonCreate,
    PersonPage,
    PersonPatch,
)
from service.domain.people.service import person_service as service
from service.domain.routes import ResourceController, ResourceRoutes
from service.kit.db import ReadDb
from service.web import http
from service.web.auth import public_read

PERSON_ROUTES = ResourceRoutes(
    name="Person",
    function="person",
    noun="a person",
    service=service,
    struct=Person,
    create=PersonCreate,
    patch=PersonPatch,
)


class PersonController(ResourceController, routes=PERSON_ROUTES):
    path = "/v1/people"
    tags = ["People"]
    guards = [public_read]

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
