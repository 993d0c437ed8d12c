"""Headers every response gets: security headers, Cache-Control and Vary, and CORS.

`response_headers(settings)` is applied by the app's outermost ASGI wrapper
(`RequestTelemetry`) rather than by a route middleware: Litestar runs route middleware
only for requests that matched a route, and a 404 or 405 from the router, a refused
CORS preflight or a 401 from authentication need these headers too. It only ever adds
headers a response does not have, so a handler that sets its own (a badge's
Cache-Control, an embed's Content-Security-Policy) keeps them.

Cache-Control, unless the handler chose one:

- `private` on every response to a request with `Authorization` (and `no-store` too
  for /v1/api-keys, and for errors): its content depends on the key's scope.
- `public, max-age=0, must-revalidate` on an anonymous GET/HEAD under /v1, /embed or
  /schema answered 200 or 304: the public sees only published content, and with the
  strong ETag a cache revalidates for the price of a 304.
- `no-store` on errors and on everything else (probes, metrics, anonymous writes).

A CORS preflight that Litestar's CORS middleware refuses comes out of it as a
text/plain 400 that no exception handler sees; `ProblemPreflights` turns it into a
problem+json 403 like every other refusal.

`Vary: Authorization` on every /v1 GET/HEAD: the same URL shows a `write` key drafts and
internal documents that it shows nobody else. Not on routes whose handlers are marked
`opt={SAME_FOR_EVERY_CALLER: True}` (badges, oEmbed, ClaimReview: public content read
with the public audience whoever asks) while PUBLIC_READ is on: a CDN keeps one copy of
them, not one per key. With PUBLIC_READ off they still vary, since an anonymous caller
gets 401 where a key gets the content.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import msgspec
from litestar.config.cors import CORSConfig
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from service.kit.errors import PROBLEM_MEDIA_TYPE, Problem
from service.settings import Settings
from service.web.auth import Caller

# Paths left framable and free to run scripts: embeds are made to be shown in other
# sites' iframes, and the interactive docs load their scripts.
OPEN_PREFIXES = ("/embed/", "/schema")
# Where published content lives; anything else (probes, metrics) is never cached.
PUBLISHED_PREFIXES = ("/v1/", "/embed/", "/schema")

# A route handler's `opt` key: its answers are the same whatever key (or none) asks.
SAME_FOR_EVERY_CALLER = "same_for_every_caller"

PUBLIC = b"public, max-age=0, must-revalidate"
PRIVATE = b"private"
PRIVATE_NO_STORE = b"private, no-store"
NO_STORE = b"no-store"

# Headers a browser front end may send and read across origins.
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
]
CORS_EXPOSED_HEADERS = [
    "ETag",
    "Location",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Retry-After",
    "Idempotent-Replayed",
    "X-Request-ID",
    "Changes-Cursor",
]
CORS_METHODS = ["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"]

AddHeaders = Callable[[HTTPResponseStartEvent, Scope], None]
# A `scope["state"]` key: encoded headers a middleware wants on the response (the rate
# limit's), added by the one send wrapper rather than by a send wrapper of its own.
EXTRA_HEADERS = "extra_response_headers"


def cors_config(settings: Settings) -> CORSConfig | None:
    """Litestar's CORS for CORS_ALLOW_ORIGINS; None (no CORS headers at all) when empty.

    No credentials mode: the API authenticates with an Authorization header that the
    front end sets itself, never with cookies."""
    if not settings.cors_allow_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_allow_origins),
        allow_methods=list(CORS_METHODS),  # type: ignore[arg-type]
        allow_headers=list(CORS_REQUEST_HEADERS),
        expose_headers=list(CORS_EXPOSED_HEADERS),
        allow_credentials=False,
        max_age=600,
    )


class ProblemPreflights:
    """An ASGI wrapper around Litestar's CORS middleware (only when CORS is on) that
    answers a refused preflight with a problem+json 403 instead of its text/plain 400.

    Litestar's middleware answers every OPTIONS request that has an `Origin` itself,
    without calling the app, and answers 400 only when it refuses the origin, the method
    or a header; so such a 400 is the refusal, whatever its wording. Its reason
    ("Disallowed CORS origin") becomes the problem's detail.
    """

    __slots__ = ("_app",)

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != ScopeType.HTTP
            or scope["method"] != "OPTIONS"
            or not any(name == b"origin" for name, _ in scope["headers"])
        ):
            await self._app(scope, receive, send)
            return
        path = scope["path"]
        held: HTTPResponseStartEvent | None = None  # the refusal, until its body is known
        reason = b""

        async def send_problem(message: Message) -> None:
            nonlocal held, reason
            if message["type"] == "http.response.start" and message["status"] == 400:
                held = message
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            reason += message["body"]
            if message.get("more_body", False):
                return
            body = msgspec.json.encode(
                Problem(
                    type="/problems/cors-refused",
                    title="Forbidden",
                    status=403,
                    detail="this cross-origin request is not allowed: "
                    + (reason.decode("utf-8", "replace").strip() or "refused by CORS"),
                    instance=path,
                )
            )
            headers = [
                (name, value)
                for name, value in held.get("headers", ())
                if name.lower() not in (b"content-type", b"content-length")
            ]
            headers += [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ]
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": 403,
                "headers": headers,
            }
            await send(start)
            end: HTTPResponseBodyEvent = {
                "type": "http.response.body",
                "body": body,
                "more_body": False,
            }
            await send(end)

        await self._app(scope, receive, send_problem)


def response_headers(settings: Settings) -> AddHeaders:
    """What adds security headers, Cache-Control and Vary, and the headers a middleware
    left in `scope["state"][EXTRA_HEADERS]`, to a response's start message (in place:
    the caller passes its own copy). `RequestTelemetry` calls it from its one send
    wrapper (service/web/telemetry.py)."""
    everywhere = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
    if urlsplit(settings.public_base_url).scheme == "https":
        # Only when the service is known to be served over HTTPS: over plain HTTP the
        # header is ignored at best, and it would pin a mistaken setup for a year.
        everywhere.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    api_only = [
        (b"x-frame-options", b"DENY"),
        (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    ]

    def add(message: HTTPResponseStartEvent, scope: Scope) -> None:
        headers = list(message.get("headers", ()))
        if extra := scope["state"].get(EXTRA_HEADERS):
            headers += extra
        # Litestar sends header names in lower case, as ASGI asks.
        present = {name for name, _ in headers}
        path: str = scope["path"]
        added = [h for h in everywhere if h[0] not in present]
        if not path.startswith(OPEN_PREFIXES):
            added += [h for h in api_only if h[0] not in present]
        if b"cache-control" not in present:
            added.append((b"cache-control", _cache_control(scope, path, message["status"])))
        if (
            path.startswith("/v1/")
            and scope.get("method") in ("GET", "HEAD")
            and not (settings.public_read and _same_for_every_caller(scope))
        ):
            headers = _vary_on_authorization(headers)
        message["headers"] = headers + added

    return add


def _same_for_every_caller(scope: Scope) -> bool:
    handler = scope.get("route_handler")
    return handler is not None and bool(handler.opt.get(SAME_FOR_EVERY_CALLER))


def _keyed(scope: Scope) -> bool:
    """Whether the request came with a key (a good one, or a bad one refused with 401)."""
    user = scope.get("user")
    if user is not None:  # authentication ran
        return isinstance(user, Caller) and user.key_id is not None
    return any(name == b"authorization" for name, _ in scope.get("headers", ()))


def _cache_control(scope: Scope, path: str, status: int) -> bytes:
    if _keyed(scope):
        return PRIVATE_NO_STORE if status >= 400 or path.startswith("/v1/api-keys") else PRIVATE
    if (
        status in (200, 304)
        and scope.get("method") in ("GET", "HEAD")
        and path.startswith(PUBLISHED_PREFIXES)
    ):
        return PUBLIC
    return NO_STORE


def _vary_on_authorization(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    for index, (name, value) in enumerate(headers):
        if name == b"vary":
            fields = {v.strip().lower() for v in value.split(b",")}
            if b"authorization" in fields or b"*" in fields:
                return headers
            headers = list(headers)
            headers[index] = (name, value + b", Authorization")
            return headers
    return [*headers, (b"vary", b"Authorization")]
