"""HTTP routes for the embeddable card of a statement or a document: public content (see
`views/published/responses.py`) that any site may frame and that loads nothing."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import ResponseHeader
from litestar.enums import MediaType

from service.domain.subjects import SubjectType
from service.kit.db import ReadDb
from service.views.embeds import service
from service.views.published.responses import PUBLIC_HEADERS, SAME_FOR_EVERYONE, public_response
from service.web import http
from service.web.auth import public_read

# The card is framed by other sites: it may be embedded anywhere and may load nothing.
EMBED_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors *"

CSP_HEADER = ResponseHeader(
    name="Content-Security-Policy",
    description=f"`{EMBED_CSP}`: the card loads nothing and may be framed by any site.",
    documentation_only=True,
    value="",  # documents the header as a string; never sent as is
)

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
