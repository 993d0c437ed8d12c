"""HTTP routes for people."""

from __future__ import annotations

from service.domain.people.schemas import (
    Person,
    PersonCreate,
    PersonPage,
    PersonPatch,
)
from service.domain.people.service import person_service as service
from service.domain.routes import NamedList, ResourceController, ResourceRoutes
from service.web.auth import public_read

PERSON_ROUTES = ResourceRoutes(
    name="Person",
    function="person",
    noun="a person",
    service=service,
    struct=Person,
    create=PersonCreate,
    patch=PersonPatch,
    named_list=NamedList(plural="People", function="people", page=PersonPage),
)


class PersonController(ResourceController, routes=PERSON_ROUTES):
    path = "/v1/people"
    tags = ["People"]
    guards = [public_read]
