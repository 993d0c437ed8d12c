"""Answers held in memory, given before Litestar's request pipeline.

A hit of the read cache (service/web/read_cache.py) or of the badge cache costs no
database, yet through Litestar it paid the whole pipeline: the authentication and rate
limit middleware, the router, the guards, dependency injection, the before- and
after-request hooks and the response object, about three times the CPU of the
framework's own plainest request (bench/, profiled with py-spy). `MemoryAnswers` sits
between the telemetry wrapper and Litestar and answers such a hit itself, from the
raw scope; anything it is not sure of goes through the pipeline as before.

It answers only a plain `GET` (no query string, no body, no CORS `Origin` while CORS is
on) that a source holds, from a caller who may see it:

- anonymous, when every guard of the route is `public_read` and PUBLIC_READ is on;
- a `read` key that the key cache already knows (an unknown key goes through the
  pipeline, which looks it up and caches it; a revoked key clears that cache);
- a `write` or `admin` key only on routes marked SAME_FOR_EVERY_CALLER (badges): the
  newsroom reads its own writes, so the read cache is never theirs.

What a caller or an operator relies on stays: the rate limit counts the request
(a refused one goes through the pipeline, which answers 429), `scope["user"]`,
`path_template` and `route_handler` are set as the pipeline sets them, so the
telemetry wrapper outside gives it its request id, log line, metrics and the security,
cache and rate-limit headers, and If-None-Match answers 304. The headers are those the
pipeline sends for the same answer (tests/web/test_memory_answers.py compares them).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from litestar.enums import ScopeType
from litestar.handlers import HTTPRouteHandler
from litestar.routes import BaseRoute, HTTPRoute
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    HTTPScope,
    Receive,
    Send,
)

from service.settings import Settings
from service.web.auth import (
    ANONYMOUS,
    Caller,
    KeyCache,
    bearer_digest,
    public_read,
    requires_read,
)
from service.web.headers import EXTRA_HEADERS, SAME_FOR_EVERY_CALLER
from service.web.http import none_match
from service.web.ratelimit import EXEMPT_PREFIXES, RateLimiter, address_bucket

JSON_MEDIA_TYPE = b"application/json"


class Hit(NamedTuple):
    """An answer a source holds for a path."""

    template: str  # the route's path template, as Litestar names it
    body: bytes
    etag: str
    media_type: bytes
    cache_control: bytes | None = None  # the handler's own; else the pipeline's default
    key: Hashable = None  # the source's own key, handed back to `served`


class AnswerSource(Protocol):
    def peek(self, path: str) -> Hit | None:
        """The answer held for `path`, without counting it or touching an LRU order."""
        ...

    def served(self, hit: Hit) -> None:
        """`peek`'s answer was sent: count the hit, refresh its place in the LRU."""
        ...


@dataclass(frozen=True, slots=True)
class _Route:
    handler: HTTPRouteHandler
    anonymous: bool  # may an anonymous caller see it
    newsroom: bool  # may a write or admin key get the held answer


# Headers that send a request through the pipeline: a body to validate, or CORS.
_BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


class MemoryAnswers:
    """The ASGI wrapper that answers held GETs (see the module docstring)."""

    __slots__ = (
        "_app",
        "_key_cache",
        "_limiter",
        "_pass_headers",
        "_routes",
        "_sources",
        "answered",
    )

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Iterable[BaseRoute],
        sources: Sequence[AnswerSource],
        settings: Settings,
        key_cache: KeyCache,
        limiter: RateLimiter,
    ) -> None:
        self._app = app
        self._sources = tuple(sources)
        self._key_cache = key_cache
        self._limiter = limiter
        self._routes = _answerable_routes(routes, public_read_on=settings.public_read)
        self._pass_headers = _BODY_HEADERS | ({b"origin"} if settings.cors_allow_origins else set())
        self.answered = 0  # how many requests it answered (the tests check it did)

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != ScopeType.HTTP
            or scope["method"] != "GET"
            or scope["query_string"]
            or not scope["path"].startswith("/v1/")
            or scope["path"].startswith(EXEMPT_PREFIXES)
        ):
            await self._app(scope, receive, send)
            return
        answer = self._answer(scope)
        if answer is None:
            await self._app(scope, receive, send)
            return
        start, body = answer
        self.answered += 1
        await send(start)
        await send(body)

    def _answer(
        self, scope: HTTPScope
    ) -> tuple[HTTPResponseStartEvent, HTTPResponseBodyEvent] | None:
        authorization = if_none_match = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                if authorization is not None:
                    return None
                authorization = value
            elif name == b"if-none-match":
                if if_none_match is not None:
                    return None
                if_none_match = value
            elif name in self._pass_headers:
                return None
        caller = self._caller(authorization)
        if caller is None:
            return None
        path: str = scope["path"]
        for source in self._sources:
            hit = source.peek(path)
            if hit is not None:
                break
        else:
            return None
        route = self._routes.get(hit.template)
        if route is None:
            return None
        if caller.is_anonymous:
            if not route.anonymous:
                return None
            client = scope.get("client")
            bucket, limit = (
                address_bucket(client[0] if client else "unknown"),
                self._limiter.anonymous_limit,
            )
        else:
            if caller.sees_unpublished and not route.newsroom:
                return None
            bucket, limit = f"key:{caller.key_id}", self._limiter.key_limit
        decision = self._limiter.hit(bucket, limit)
        if not decision.allowed:
            return None  # the pipeline answers the 429, with its problem body
        source.served(hit)
        scope["user"] = caller
        scope["auth"] = None
        scope["path_template"] = hit.template
        scope["route_handler"] = route.handler
        scope["state"][EXTRA_HEADERS] = decision.encoded_headers()
        headers = [(b"etag", hit.etag.encode())]
        if hit.cache_control is not None:
            headers.append((b"cache-control", hit.cache_control))
        if if_none_match is not None and none_match(if_none_match.decode("latin-1"), hit.etag):
            status, body = 304, b""
        else:
            status, body = 200, hit.body
            headers += [
                (b"content-type", hit.media_type),
                (b"content-length", b"%d" % len(body)),
            ]
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": status,
            "headers": headers,
        }
        end: HTTPResponseBodyEvent = {
            "type": "http.response.body",
            "body": body,
            "more_body": False,
        }
        return start, end

    def _caller(self, authorization: bytes | None) -> Caller | None:
        """Who asks, when it is known without I/O; None sends the request through the
        pipeline (a key not in the key cache, a malformed header: 401 there)."""
        if authorization is None:
            return ANONYMOUS
        digest = bearer_digest(authorization)
        if digest is None:
            return None
        known, caller = self._key_cache.get(digest)
        return caller if known else None


def _answerable_routes(routes: Iterable[BaseRoute], *, public_read_on: bool) -> dict[str, _Route]:
    """The GET routes whose held answers this may give, by path template, with who may
    get them: only routes guarded by nothing stronger than `read`."""
    answerable: dict[str, _Route] = {}
    for route in routes:
        if not isinstance(route, HTTPRoute) or "GET" not in route.route_handler_map:
            continue
        handler, _ = route.route_handler_map["GET"]
        guards = {getattr(guard, "func", guard) for guard in handler.resolve_guards()}
        if not guards <= {public_read, requires_read}:
            continue
        same_for_everyone = bool(handler.opt.get(SAME_FOR_EVERY_CALLER))
        answerable[route.path_format] = _Route(
            handler=handler,
            anonymous=public_read_on and guards <= {public_read},
            newsroom=same_for_everyone,
        )
    return answerable
