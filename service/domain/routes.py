"""The routes every resource of the record has, written once: create, get one, change,
delete, and its history. A resource's controller subclasses `ResourceController` with
its `ResourceRoutes` and adds its own list (whose filters are its own) and anything else
it does (publish, retract):

    class OrganizationController(ResourceController, routes=ORGANIZATION_ROUTES):
        path = "/v1/organizations"
        ...

Each handler is a few lines that hand over to the resource's service; what differs
between resources is data (`ResourceRoutes`): names, the Structs, the documented texts.
The handlers are built with the resource's real types in their signatures, so the
OpenAPI document names the same schemas and operations as hand-written handlers would.
"""

# No `from __future__ import annotations`: the handlers' annotations must be the actual
# types of each resource (Litestar reads them), evaluated when the handler is built.

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody

from service.domain.crud import NamedResourceService, ResourceService
from service.domain.history.schemas import HistoryPage
from service.kit.db import ReadDb, WriteTx
from service.web import http
from service.web.auth import Actor, Audience, AudienceDep, requires_write
from service.web.memory_answers import PUBLIC_READER
from service.web.read_cache import cached_entity


@dataclass(frozen=True)
class Texts:
    """What the OpenAPI document says of one operation."""

    summary: str
    description: str | None = None
    # Extra statuses beyond the operation's usual ones (e.g. 409).
    also: tuple[int, ...] = ()


@dataclass(frozen=True)
class NamedList:
    """The list of a resource found by name (`crud.NamedResourceService`): `plural`
    makes its operation id and summary (`ListPeople`, "List people, newest first or
    best match to q first"),
    `function` its handler name, `page` its response Struct."""

    plural: str
    function: str
    page: type[Any]


@dataclass(frozen=True)
class ResourceRoutes:
    """One resource's standard routes.

    `name` makes the operation ids (`CreateOrganization`, `ListOrganizationHistory`),
    `function` the handler names (`create_organization`), `noun` the summaries ("an
    organization"). Without a `patch` Struct the resource has no PATCH (relations).
    """

    name: str
    function: str
    noun: str
    service: ResourceService[Any, Any, Any]
    struct: type[Any]
    create: type[Any]
    patch: type[Any] | None = None
    create_texts: Texts | None = None
    update_texts: Texts | None = None
    delete_texts: Texts | None = None
    # The list too, for resources whose only filter is the name (the others' filters
    # are their own, written in their controllers).
    named_list: NamedList | None = None


def _named(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    function.__name__ = function.__qualname__ = name
    return function


class ResourceController(Controller):
    """A resource's controller: `routes=` in the class statement adds the standard
    routes to it, as if they were written in its body."""

    def __init_subclass__(cls, *, routes: ResourceRoutes, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, handler in standard_routes(routes).items():
            setattr(cls, name, handler)


def standard_routes(spec: ResourceRoutes) -> dict[str, HTTPRouteHandler]:
    """The standard handlers of one resource, by handler name."""
    service, struct = spec.service, spec.struct
    create_texts = spec.create_texts or Texts(f"Create {spec.noun}")
    handlers: dict[str, HTTPRouteHandler] = {}

    async def create_resource(
        self: Any,
        request: Request[Any, Any, Any],
        data: JSONBody[spec.create],  # type: ignore[name-defined]
        tx: WriteTx,
        actor: Actor,
    ) -> Response[struct]:  # type: ignore[valid-type]
        created = await service.create(tx, data, actor)
        return http.entity_response(
            request,
            created,
            status_code=201,
            headers=http.location(request, f"{self.path}/{created.id}"),
        )

    handlers[f"create_{spec.function}"] = post(
        "/",
        guards=[requires_write],
        operation_id=f"Create{spec.name}",
        summary=create_texts.summary,
        description=create_texts.description,
        responses=http.responses((*http.CREATE, *create_texts.also)),
        response_headers=[http.ETAG_HEADER, http.LOCATION_HEADER],
    )(_named(create_resource, f"create_{spec.function}"))

    if spec.named_list is not None:
        named = spec.named_list
        if not isinstance(service, NamedResourceService):
            raise TypeError(f"{spec.name}: a named list needs a NamedResourceService")
        names: NamedResourceService[Any, Any, Any] = service

        async def list_by_name(
            self: Any,
            db: ReadDb,
            q: http.NameQuery = None,
            updated_since: http.UpdatedSince = None,
            cursor: http.Cursor = None,
            limit: http.Limit = 25,
        ) -> named.page:  # type: ignore[name-defined]
            page = await names.list(
                db, q=q, updated_since=updated_since, cursor=cursor, limit=limit
            )
            return named.page(items=page.items, next_cursor=page.next_cursor)

        handlers[f"list_{named.function}"] = get(
            "/",
            operation_id=f"List{named.plural}",
            summary=f"List {named.plural.lower()}, newest first or best match to q first",
            responses=http.responses(http.LIST),
        )(_named(list_by_name, f"list_{named.function}"))

    # No `db`: the public's answer usually comes from the read cache, without a
    # connection (service/web/read_cache.py).
    async def get_resource(
        self: Any,
        request: Request[Any, Any, Any],
        audience: AudienceDep,
        id: http.ResourceId,
    ) -> Response[struct]:  # type: ignore[valid-type]
        return await cached_entity(request, audience, lambda db: service.get(db, id, audience))

    handlers[f"get_{spec.function}"] = get(
        "/{id:uuid}",
        operation_id=f"Get{spec.name}",
        summary=f"Get {spec.noun}",
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=[http.ETAG_HEADER],
        # A public miss may be read before the pipeline (service/web/memory_answers.py).
        opt={PUBLIC_READER: lambda db, params: service.get(db, params["id"], Audience.PUBLIC)},
    )(_named(get_resource, f"get_{spec.function}"))

    if spec.patch is not None:
        update_texts = spec.update_texts or Texts(f"Change {spec.noun} (If-Match required)")

        async def update_resource(
            self: Any,
            request: Request[Any, Any, Any],
            tx: WriteTx,
            actor: Actor,
            id: http.ResourceId,
            data: JSONBody[spec.patch],  # type: ignore[name-defined]
            if_match: http.IfMatchHeader = None,
        ) -> Response[struct]:  # type: ignore[valid-type]
            updated = await service.update(tx, id, data, http.IfMatch(if_match), actor)
            return http.entity_response(request, updated)

        handlers[f"update_{spec.function}"] = patch(
            "/{id:uuid}",
            guards=[requires_write],
            operation_id=f"Update{spec.name}",
            summary=update_texts.summary,
            description=update_texts.description,
            responses=http.responses((*http.UPDATE, *update_texts.also)),
            response_headers=[http.ETAG_HEADER],
        )(_named(update_resource, f"update_{spec.function}"))

    delete_texts = spec.delete_texts or Texts(f"Delete {spec.noun} (soft; If-Match required)")

    async def delete_resource(
        self: Any,
        tx: WriteTx,
        actor: Actor,
        id: http.ResourceId,
        if_match: http.IfMatchHeader = None,
    ) -> None:
        await service.delete(tx, id, http.IfMatch(if_match), actor)

    handlers[f"delete_{spec.function}"] = delete(
        "/{id:uuid}",
        guards=[requires_write],
        operation_id=f"Delete{spec.name}",
        summary=delete_texts.summary,
        description=delete_texts.description,
        responses=http.responses((*http.DELETE, *delete_texts.also)),
    )(_named(delete_resource, f"delete_{spec.function}"))

    async def list_resource_history(
        self: Any,
        db: ReadDb,
        audience: AudienceDep,
        id: http.ResourceId,
        cursor: http.Cursor = None,
        limit: http.Limit = 25,
    ) -> HistoryPage:
        return await service.history(db, id, cursor, limit, audience)

    handlers[f"list_{spec.function}_history"] = get(
        "/{id:uuid}/history",
        operation_id=f"List{spec.name}History",
        summary=f"Every change to {spec.noun}, oldest first",
        responses=http.responses(http.HISTORY),
    )(_named(list_resource_history, f"list_{spec.function}_history"))
    return handlers
