"""HTTP routes for badges, embeds, oEmbed and ClaimReview.

Every answer here is public content, the same for every caller, so each is served
`Cache-Control: public` with stale-while-revalidate and stale-if-error (RFC 5861): a CDN
or browser may keep showing a badge or card through an origin outage. The controllers
are marked SAME_FOR_EVERY_CALLER, so their answers do not `Vary: Authorization`
(service/web/headers.py): one cached copy serves every caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get
from litestar.datastructures import ResponseHeader
from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIMediaType, OpenAPIResponse, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import PathParameter, QueryParameter

from service.domain.subjects import SubjectType
from service.kit.db import ReadDb
from service.kit.errors import PROBLEM_MEDIA_TYPE, ApiError, NotFound, Problem
from service.views.distribution import service
from service.views.distribution.schemas import ClaimReview, OEmbed, ShieldsBadge
from service.web import http
from service.web.auth import public_read
from service.web.headers import SAME_FOR_EVERY_CALLER

PUBLIC_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=86400, stale-if-error=86400"
# The card is framed by other sites: it may be embedded anywhere and may load nothing.
EMBED_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors *"
SVG = "image/svg+xml"
LD_JSON = "application/ld+json"

CACHE_CONTROL_HEADER = ResponseHeader(
    name="Cache-Control",
    description=f"`{PUBLIC_CACHE_CONTROL}`: public content, usable stale through an outage.",
    documentation_only=True,
    value="",  # documents the header as a string; never sent as is
)
CSP_HEADER = ResponseHeader(
    name="Content-Security-Policy",
    description=f"`{EMBED_CSP}`: the card loads nothing and may be framed by any site.",
    documentation_only=True,
    value="",  # documents the header as a string; never sent as is
)
ETAG_HEADER = ResponseHeader(
    name="ETag",
    description="Strong entity tag; send it as If-None-Match to get 304 while unchanged.",
    documentation_only=True,
    value="",  # documents the header as a string; never sent as is
)
PUBLIC_HEADERS = [ETAG_HEADER, CACHE_CONTROL_HEADER]
# Read with the public audience whoever asks (repository.py): no Vary: Authorization.
SAME_FOR_EVERYONE = {SAME_FOR_EVERY_CALLER: True}


def _matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match compares weakly (RFC 9110, 13.1.2): a `W/` prefix is ignored."""
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def public_response(
    request: Request[Any, Any, Any],
    body: bytes,
    media_type: str,
    *,
    etag: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    """Public content with its strong ETag and cache policy; 304 when If-None-Match
    already has it."""
    etag = etag or http.etag_for(body)
    all_headers = {"ETag": etag, "Cache-Control": PUBLIC_CACHE_CONTROL, **(headers or {})}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and _matches(if_none_match, etag):
        return Response(b"", status_code=304, headers=all_headers)
    return Response(body, media_type=media_type, headers=all_headers)


# ---- badges ---------------------------------------------------------------------------------

_BADGE_FILE = re.compile(r"^(?P<id>[0-9a-fA-F-]{36})\.(?P<ext>svg|json)$")

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


def _badge_file(file: str) -> tuple[UUID, str]:
    match = _BADGE_FILE.match(file)
    if match is None:
        raise NotFound("a badge is {id}.svg or {id}.json")
    try:
        return UUID(match.group("id")), match.group("ext")
    except ValueError:
        raise NotFound("a badge is {id}.svg or {id}.json") from None


async def _badge_response(
    request: Request[Any, Any, Any], subject_type: SubjectType, file: str
) -> Response[Any]:
    id, extension = _badge_file(file)
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


# ---- embeds ---------------------------------------------------------------------------------

EMBED_DESCRIPTION = (
    "A self-contained HTML card for an `<iframe>`: the {what}, the verdict label coloured "
    "like the badge, the corroborations, and links to the fact-check and the full record. "
    "No scripts, external styles, fonts or images; every stored string is escaped. May be "
    "framed by any site (`frame-ancestors *`). Public content: an internal, deleted or "
    "missing {noun} is 404."
)


def _embed_response(request: Request[Any, Any, Any], card: str) -> Response[Any]:
    return public_response(
        request,
        card.encode(),
        MediaType.HTML,  # Litestar adds the charset
        headers={"Content-Security-Policy": EMBED_CSP, "X-Content-Type-Options": "nosniff"},
    )


class EmbedController(Controller):
    path = "/embed"
    tags = ["Embeds"]
    guards = [public_read]
    opt = SAME_FOR_EVERYONE

    @get(
        "/statements/{id:uuid}",
        operation_id="GetStatementEmbed",
        summary="An embeddable HTML card of a statement's verification",
        description=EMBED_DESCRIPTION.format(what="quote and who said it, when", noun="statement"),
        media_type=MediaType.HTML,
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=[*PUBLIC_HEADERS, CSP_HEADER],
    )
    async def get_statement_embed(
        self, request: Request[Any, Any, Any], db: ReadDb, id: http.ResourceId
    ) -> Response[str]:
        base_url = request.app.state.settings.public_base_url
        card = await service.card(db, SubjectType.STATEMENT, id, base_url)
        return _embed_response(request, card)

    @get(
        "/documents/{id:uuid}",
        operation_id="GetDocumentEmbed",
        summary="An embeddable HTML card of a document's verification",
        description=EMBED_DESCRIPTION.format(what="title and its issuer and date", noun="document"),
        media_type=MediaType.HTML,
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=[*PUBLIC_HEADERS, CSP_HEADER],
    )
    async def get_document_embed(
        self, request: Request[Any, Any, Any], db: ReadDb, id: http.ResourceId
    ) -> Response[str]:
        base_url = request.app.state.settings.public_base_url
        card = await service.card(db, SubjectType.DOCUMENT, id, base_url)
        return _embed_response(request, card)


class FormatNotImplemented(ApiError):
    """oEmbed: "the provider cannot return a response in the requested format"."""

    status, slug = 501, "not-implemented"


NOT_IMPLEMENTED = {
    501: ResponseSpec(
        data_container=Problem,
        media_type=PROBLEM_MEDIA_TYPE,
        description="A `format` other than `json` (the oEmbed spec's answer for xml).",
        generate_examples=False,
    )
}


class OEmbedController(Controller):
    path = "/v1/oembed"
    tags = ["Embeds"]
    guards = [public_read]
    opt = SAME_FOR_EVERYONE

    @get(
        "/",
        operation_id="GetOembed",
        summary="oEmbed 1.0 for a statement's or document's embed or resource URL",
        description=(
            "An oEmbed 1.0 `rich` response whose `html` is an `<iframe>` of the embed card. "
            "`url` may be `{PUBLIC_BASE_URL}/embed/{statements|documents}/{id}` or the "
            "resource URL `{PUBLIC_BASE_URL}/v1/{statements|documents}/{id}` (or its "
            "`/record`). Any other URL, or one that is not published, is 404. `width` and "
            "`height` never exceed `maxwidth` and `maxheight`. Only `format=json` is "
            "offered: `xml` (or anything else) is 501, as the oEmbed spec asks."
        ),
        responses={**http.responses((404, 422, 503)), **NOT_IMPLEMENTED},
        response_headers=PUBLIC_HEADERS,
    )
    async def get_oembed(
        self,
        request: Request[Any, Any, Any],
        db: ReadDb,
        url: Annotated[
            str,
            QueryParameter(
                min_length=1,
                max_length=2048,
                description="The embed or resource URL of a statement or a document.",
            ),
        ],
        maxwidth: Annotated[
            int | None, QueryParameter(ge=1, le=10_000, description="Widest the embed may be.")
        ] = None,
        maxheight: Annotated[
            int | None, QueryParameter(ge=1, le=10_000, description="Tallest the embed may be.")
        ] = None,
        response_format: Annotated[
            str,
            QueryParameter(
                name="format",
                max_length=20,
                description="`json` (the default); any other format is 501.",
            ),
        ] = "json",
    ) -> Response[OEmbed]:
        if response_format != "json":
            raise FormatNotImplemented(f"only format=json is offered, not {response_format!r}")
        base_url = request.app.state.settings.public_base_url
        answer = await service.oembed(db, url, base_url, maxwidth=maxwidth, maxheight=maxheight)
        return public_response(request, msgspec.json.encode(answer), MediaType.JSON)


# ---- ClaimReview ----------------------------------------------------------------------------

CLAIMREVIEW_DESCRIPTION = (
    "schema.org `ClaimReview` (JSON-LD) of the {noun}'s current published assessment, for "
    "search engines: `claimReviewed` is the {claim}; `reviewRating.alternateName` is the "
    "verdict label and `ratingValue` rates it from 1 (false, fabricated) to 5 (true, "
    "authentic): {scale}; unverifiable and unverified carry no number. `url` is the "
    "fact-check's URL, else the record's. 404 when the {noun} is not published or has no "
    "published assessment."
)
_SCALE = "mostly true and likely authentic 4, mixed and disputed 3, misleading, mostly false and altered 2"


class ClaimReviewController(Controller):
    path = "/v1"
    tags = ["ClaimReview"]
    guards = [public_read]
    opt = SAME_FOR_EVERYONE

    @get(
        "/statements/{id:uuid}/claimreview",
        operation_id="GetStatementClaimReview",
        summary="schema.org ClaimReview of a statement's current verdict",
        description=CLAIMREVIEW_DESCRIPTION.format(noun="statement", claim="quote", scale=_SCALE),
        media_type=LD_JSON,
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=PUBLIC_HEADERS,
    )
    async def get_statement_claim_review(
        self, request: Request[Any, Any, Any], db: ReadDb, id: http.ResourceId
    ) -> Response[ClaimReview]:
        base_url = request.app.state.settings.public_base_url
        review = await service.claim_review(db, SubjectType.STATEMENT, id, base_url)
        return public_response(request, msgspec.json.encode(review), LD_JSON)

    @get(
        "/documents/{id:uuid}/claimreview",
        operation_id="GetDocumentClaimReview",
        summary="schema.org ClaimReview of a document's current verdict",
        description=CLAIMREVIEW_DESCRIPTION.format(
            noun="document", claim="document's title", scale=_SCALE
        ),
        media_type=LD_JSON,
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=PUBLIC_HEADERS,
    )
    async def get_document_claim_review(
        self, request: Request[Any, Any, Any], db: ReadDb, id: http.ResourceId
    ) -> Response[ClaimReview]:
        base_url = request.app.state.settings.public_base_url
        review = await service.claim_review(db, SubjectType.DOCUMENT, id, base_url)
        return public_response(request, msgspec.json.encode(review), LD_JSON)
