"""The HTTP side of public content, shared by the badge, embed, oEmbed and ClaimReview
routes: the response with its strong ETag and cache policy (304 when If-None-Match
already has it), and the response headers as the OpenAPI document describes them.

Every answer there is public content, the same for every caller, so each is served
`Cache-Control: public` with stale-while-revalidate and stale-if-error (RFC 5861): a CDN
or browser may keep showing a badge or card through an origin outage. The controllers
are marked SAME_FOR_EVERY_CALLER, so their answers do not `Vary: Authorization`
(service/web/headers.py): one cached copy serves every caller.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.datastructures import ResponseHeader

from service.web import http
from service.web.headers import SAME_FOR_EVERY_CALLER

PUBLIC_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=86400, stale-if-error=86400"

CACHE_CONTROL_HEADER = ResponseHeader(
    name="Cache-Control",
    description=f"`{PUBLIC_CACHE_CONTROL}`: public content, usable stale through an outage.",
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
# Read with the public audience whoever asks (published/repository.py, and the badges'
# repository): no Vary: Authorization.
SAME_FOR_EVERYONE = {SAME_FOR_EVERY_CALLER: True}


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
    if http.none_match(request.headers.get("if-none-match"), etag):
        return Response(b"", status_code=304, headers=all_headers)
    return Response(body, media_type=media_type, headers=all_headers)
