"""HTTP routes for badges: a statement's or document's verdict as `{id}.svg` or
`{id}.json`, public content (see `views/published/responses.py`) served from this process's
cache (see `cache.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.enums import MediaType
from litestar.openapi.spec import Example, OpenAPIMediaType, OpenAPIResponse, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import PathParameter

from service.domain.subjects import SubjectType
from service.kit.errors import NotFound
from service.views.badges import service
from service.views.badges.answers import SVG, badge_file
from service.views.badges.schemas import ShieldsBadge
from service.views.published.responses import PUBLIC_HEADERS, SAME_FOR_EVERYONE, public_response
from service.web import http
from service.web.auth import public_read

BadgeFile = Annotated[
    str,
    PathParameter(
        description="The subject's id and the format: `{id}.svg` (an image) or `{id}.json` "
        "(a shields.io endpoint badge). Anything else is 404.",
        examples=[Example(value="8f14e45f-ceea-467f-a8b6-3b2a6d1f0e8a.svg")],
    ),
]


@dataclass
class BadgeOperation(Operation):
    """The OpenAPI operation of a badge route: its 200 is an SVG image or shields.io JSON,
    as the path's extension says (Litestar documents one media type per response)."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            ok.content = {
                SVG: OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.STRING,
                        description="For `{id}.svg`: an SVG badge with role, aria-label and title.",
                    )
                ),
                **(ok.content or {}),
            }


BADGE_DESCRIPTION = (
    "The verdict of a published {noun} as a badge: `{{id}}.svg` for an `<img>` "
    '("Verification Record | Mostly false", coloured by verdict, with an accessible title) '
    "or `{{id}}.json` for https://img.shields.io/endpoint?url=... (`message` is the verdict "
    'label, "Unverified" while unassessed). Public content for every caller: an internal, '
    "deleted or missing {noun} is 404. Served from memory until a verdict or the {noun} "
    "changes; a change is reflected as soon as it commits."
)


async def _badge_response(
    request: Request[Any, Any, Any], subject_type: SubjectType, file: str
) -> Response[Any]:
    parsed = badge_file(file)
    if parsed is None:
        raise NotFound("a badge is {id}.svg or {id}.json")
    id, extension = parsed
    badge = await service.badge(request.app.state, subject_type, id)
    if extension == "svg":
        return public_response(request, badge.svg, SVG, etag=badge.svg_etag)
    return public_response(request, badge.json, MediaType.JSON, etag=badge.json_etag)


class BadgeController(Controller):
    path = "/v1/badges"
    tags = ["Badges"]
    guards = [public_read]
    opt = SAME_FOR_EVERYONE

    @get(
        "/statements/{file:str}",
        operation_id="GetStatementBadge",
        summary="A statement's verdict badge (SVG or shields.io JSON)",
        description=BADGE_DESCRIPTION.format(noun="statement"),
        operation_class=BadgeOperation,
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=PUBLIC_HEADERS,
    )
    async def get_statement_badge(
        self, request: Request[Any, Any, Any], file: BadgeFile
    ) -> Response[ShieldsBadge]:
        return await _badge_response(request, SubjectType.STATEMENT, file)

    @get(
        "/documents/{file:str}",
        operation_id="GetDocumentBadge",
        summary="A document's verdict badge (SVG or shields.io JSON)",
        description=BADGE_DESCRIPTION.format(noun="document"),
        operation_class=BadgeOperation,
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=PUBLIC_HEADERS,
    )
    async def get_document_badge(
        self, request: Request[Any, Any, Any], file: BadgeFile
    ) -> Response[ShieldsBadge]:
        return await _badge_response(request, SubjectType.DOCUMENT, file)
