"""OpenAPI links: what a client (or a stateful test) may do next with what it was given.

The 201 of a create leads to the new resource by the `id` in its body, and to changing
or deleting it with the `ETag` it was served with as `If-Match`; a 200 of a read leads
to changing or deleting what was read. Litestar has no setting for links, so a route
plugin hands each such route an Operation class that adds them to its response.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.openapi.spec import Link, Operation
from litestar.openapi.spec import OpenAPIResponse as Response
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute

_NEW_ID = "$response.body#/id"
_READ_ID = "$request.path.id"
_ETAG = "$response.header.ETag"

# The singular noun of each resource's operation ids, and what may follow a create:
# operations taking the resource's id (and, for changes, its ETag as If-Match).
_RESOURCES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # noun: (operations by id, operations by id and If-Match)
    "Organization": (
        ("GetOrganization", "ListOrganizationHistory"),
        ("UpdateOrganization", "DeleteOrganization"),
    ),
    "Person": (("GetPerson", "ListPersonHistory"), ("UpdatePerson", "DeletePerson")),
    "Document": (
        ("GetDocument", "GetDocumentRecord", "ListDocumentHistory"),
        ("UpdateDocument", "DeleteDocument"),
    ),
    "Statement": (
        ("GetStatement", "GetStatementRecord", "ListStatementHistory"),
        ("UpdateStatement", "DeleteStatement"),
    ),
    "Relation": (("GetRelation", "ListRelationHistory"), ("DeleteRelation",)),
    "Assessment": (
        ("GetAssessment", "ListAssessmentHistory"),
        ("UpdateAssessment", "DeleteAssessment", "PublishAssessment", "RetractAssessment"),
    ),
    "ApiKey": (("GetApiKey", "RevokeApiKey"), ()),
}


def _link(operation_id: str, id_from: str, *, if_match: bool) -> Link:
    parameters: dict[str, Any] = {"path.id": id_from}
    if if_match:
        parameters["header.If-Match"] = _ETAG
    return Link(operation_id=operation_id, parameters=parameters)


def _links(by_id: tuple[str, ...], by_etag: tuple[str, ...], id_from: str) -> dict[str, Link]:
    links = {op: _link(op, id_from, if_match=False) for op in by_id}
    links.update({op: _link(op, id_from, if_match=True) for op in by_etag})
    return links


# operation id -> status -> the links of that response
LINKS: dict[str, dict[str, dict[str, Link]]] = {}
for _noun, (_by_id, _by_etag) in _RESOURCES.items():
    LINKS[f"Create{_noun}"] = {"201": _links(_by_id, _by_etag, _NEW_ID)}
    if f"Get{_noun}" in _by_id and _by_etag:
        LINKS[f"Get{_noun}"] = {"200": _links((), _by_etag, _READ_ID)}


class DocumentLinks(ReceiveRoutePlugin):
    """Adds `LINKS` to the responses of their operations. Register it after any plugin
    that sets an operation_class of its own: it extends whatever class is there."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler, _ in route.route_handler_map.values():
            links = (
                LINKS.get(handler.operation_id) if isinstance(handler.operation_id, str) else None
            )
            if links and not getattr(handler.operation_class, "links_added", False):
                handler.operation_class = _with_links(handler.operation_class, links)


def _with_links(base: type[Operation], links: dict[str, dict[str, Link]]) -> type[Operation]:
    inherited = getattr(base, "__post_init__", None)

    def __post_init__(self: Operation) -> None:
        if inherited is not None:
            inherited(self)
        for status, status_links in links.items():
            response = (self.responses or {}).get(status)
            if isinstance(response, Response):
                response.links = {**(response.links or {}), **status_links}

    linked = type(base.__name__, (base,), {"__post_init__": __post_init__, "links_added": True})
    return dataclass(linked)
