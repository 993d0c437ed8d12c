"""The HTTP route for oEmbed 1.0: the embed code of a statement's or document's card,
for a CMS given its URL; public content (see `views/published/responses.py`)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter

from service.kit.db import ReadDb
from service.kit.errors import PROBLEM_MEDIA_TYPE, ApiError, Problem
from service.views.oembed import service
from service.views.oembed.schemas import OEmbed
from service.views.published.responses import PUBLIC_HEADERS, SAME_FOR_EVERYONE, public_response
from service.web import http
from service.web.auth import public_read


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
