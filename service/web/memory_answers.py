"""Answers held in memory, given before Litestar's request pipeline.

A hit of the read cache (service/web/read_cache.py) or of the badge cache costs no
database, yet through Litestar it paid the whole pipeline: the authentication and rate
limit middleware, the router, the guards, dependency injection, the before- and
after-request hooks and the response object, about three times the CPU of the
framework's own plainest request (bench/, profiled with py-spy). `MemoryAnswers` sits
between the telemetry wrapper and Litestar and answers such a hit itself, from the
raw scope; anything it is not sure of goes through the pipeline as before.

A public miss of the read cache costs the same pipeline on top of its one query (a
GET one's miss was 1.4 ms of server CPU, the query 0.1), so on the routes that declare
how the public's representation is read (`opt={PUBLIC_READER: ...}`) it reads the miss
itself: Litestar's own router names the route and parses its parameters, the read
cache reads, keeps and tags it as the handler would (`ReadCache.read_through`). A 404 or
any error there goes through the pipeline, which answers it as always; the rate limit
has counted it once (`ratelimit.COUNTED`).

It answers only a plain `GET` (no body, no CORS `Origin` while CORS is on) that a
source holds (with a query string: a list page the read cache holds) or, without a
query string, that a PUBLIC_READER reads, from a caller who may see it:

- anonymous, when every guard of the route is `public_read` and PUBLIC_READ is on;
- a `read` key that the key cache already knows (an unknown key goes through the
  pipeline, which looks it up and caches it; a revoked key clears that cache);
- a `write` or `admin` key only a held answer of a route marked SAME_FOR_EVERY_CALLER
  (badges): the newsroom reads its own writes, so the read cache is never theirs.

What a caller or an operator relies on stays: the rate limit counts the request
(a refused one goes through the pipeline, which answers 429), `scope["user"]`,
`path_template` and `route_handler` are set as the pipeline sets them, so the
telemetry wrapper outside gives it its request id, log line, metrics and the security,
cache and rate-limit headers, and If-None-Match answers 304. The headers are those the
pipeline sends for the same answer (tests/web/test_memory_answers.py compares them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import msgspec

# Litestar's router answers 400 to a request whose Host it refuses; so must this, with
# the router's own rule (Litestar is pinned by the lock file).
from litestar._asgi.utils import is_valid_host
from litestar.datastructures import State
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

from service.kit.db import Connection
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
from service.web.ratelimit import COUNTED, EXEMPT_PREFIXES, Decision, RateLimiter, address_bucket

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


# A route handler's `opt` key: how the public's representation of what the route names
# is read on a miss, from a connection and the path's parameters (raising NotFound, or
# anything else, sends the request through the pipeline).
PUBLIC_READER = "public_reader"
PublicReader = Callable[[Connection, dict[str, Any]], Awaitable[msgspec.Struct]]
Router = Callable[..., tuple[Any, Any, str, dict[str, Any], str]]
Answer = tuple[HTTPResponseStartEvent, HTTPResponseBodyEvent]
Screened = tuple[Caller, bytes | None]  # who asks, and their If-None-Match


class MissSource(Protocol):
    """The read cache, as what reads and keeps the public's misses."""

    @property
    def enabled(self) -> bool: ...

    async def read_through(
        self,
        state: State,
        key: str,
        template: str,
        read: Callable[[Connection], Awaitable[msgspec.Struct]],
    ) -> tuple[bytes, str]: ...


@dataclass(frozen=True, slots=True)
class _Route:
    handler: HTTPRouteHandler
    anonymous: bool  # may an anonymous caller see it
    newsroom: bool  # may a write or admin key get the held answer
    reader: PublicReader | None  # how a public miss is read


# Headers that send a request through the pipeline: a body to validate, or CORS.
_BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


class MemoryAnswers:
    """The ASGI wrapper that answers held GETs, and the public's misses of the read
    cache (see the module docstring)."""

    __slots__ = (
        "_app",
        "_key_cache",
        "_limiter",
        "_misses",
        "_pass_headers",
        "_route",
        "_routes",
        "_sources",
        "_state",
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
        misses: MissSource | None = None,
        router: Router | None = None,
        state: State | None = None,
    ) -> None:
        """`misses` (the read cache), `router` (Litestar's `handle_routing`) and `state`
        (the app's) let it read the public's misses too, on routes that declare a
        PUBLIC_READER in their `opt`."""
        self._app = app
        self._sources = tuple(sources)
        self._key_cache = key_cache
        self._limiter = limiter
        self._routes = _answerable_routes(routes, public_read_on=settings.public_read)
        self._pass_headers = _BODY_HEADERS | ({b"origin"} if settings.cors_allow_origins else set())
        self._misses = misses if router is not None and state is not None else None
        self._route = router
        self._state = state
        self.answered = 0  # how many requests it answered (the tests check it did)

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != ScopeType.HTTP
            or scope["method"] != "GET"
            or not scope["path"].startswith("/v1/")
            or scope["path"].startswith(EXEMPT_PREFIXES)
        ):
            await self._app(scope, receive, send)
            return
        screened = self._screen(scope)
        answer = None
        if screened is not None and (query := scope["query_string"]):
            # Only a held list page (read_cache.cached_page) has a query: its key.
            answer = self._held(scope, screened, f"{scope['path']}?{query.decode('latin-1')}")
        elif screened is not None:
            answer = self._held(scope, screened, scope["path"])
            if answer is None and self._misses is not None and self._misses.enabled:
                answer = await self._read(scope, screened)
        if answer is None:
            await self._app(scope, receive, send)
            return
        self.answered += 1
        await send(answer[0])
        await send(answer[1])

    def _screen(self, scope: HTTPScope) -> Screened | None:
        """Who asks and their If-None-Match, unless something sends the request through
        the pipeline."""
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
            elif name == b"host" and not is_valid_host(value):
                return None  # the router's 400
        caller = self._caller(authorization)
        return None if caller is None else (caller, if_none_match)

    def _admit(self, scope: HTTPScope, caller: Caller, route: _Route) -> Decision | None:
        """The rate limit's decision when `caller` may see `route`'s answer and is within
        the limit (then counted); None otherwise."""
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
        # A refused request goes through the pipeline, which answers the 429 with its
        # problem body (and counts nothing more: only admitted requests count).
        return decision if decision.allowed else None

    def _held(self, scope: HTTPScope, screened: Screened, key: str) -> Answer | None:
        caller, if_none_match = screened
        for source in self._sources:
            hit = source.peek(key)
            if hit is not None:
                break
        else:
            return None
        route = self._routes.get(hit.template)
        if route is None:
            return None
        decision = self._admit(scope, caller, route)
        if decision is None:
            return None
        source.served(hit)
        self._as_routed(scope, caller, route, hit.template, decision)
        return _answer(hit.body, hit.etag, hit.media_type, hit.cache_control, if_none_match)

    async def _read(self, scope: HTTPScope, screened: Screened) -> Answer | None:
        """A public miss of the read cache, read and kept here as the handler would
        (`read_cache.cached_entity`). Anything but a found resource (a 404, a database
        error) goes through the pipeline, which answers it as it always has."""
        assert self._misses is not None and self._route is not None and self._state is not None
        caller, if_none_match = screened
        if caller.sees_unpublished:
            return None  # the newsroom reads its own writes, never the read cache
        path: str = scope["path"]
        try:
            _, _, normalized, params, template = self._route(path=path, method="GET")
        except Exception:  # no such route: the router's 404 or 405
            return None
        route = self._routes.get(template)
        if normalized != path or route is None or route.reader is None:
            return None
        decision = self._admit(scope, caller, route)
        if decision is None:
            return None
        reader = route.reader
        try:
            body, etag = await self._misses.read_through(
                self._state, path, template, lambda conn: reader(conn, params)
            )
        except Exception:
            scope["state"][COUNTED] = decision  # the pipeline must not count it again
            return None
        self._as_routed(scope, caller, route, template, decision)
        return _answer(body, etag, JSON_MEDIA_TYPE, None, if_none_match)

    @staticmethod
    def _as_routed(
        scope: HTTPScope, caller: Caller, route: _Route, template: str, decision: Decision
    ) -> None:
        """What the pipeline leaves in the scope, for the telemetry wrapper outside."""
        scope["user"] = caller
        scope["auth"] = None
        scope["path_template"] = template
        scope["route_handler"] = route.handler
        scope["state"][EXTRA_HEADERS] = decision.encoded_headers()

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


def _answer(
    body: bytes,
    etag: str,
    media_type: bytes,
    cache_control: bytes | None,
    if_none_match: bytes | None,
) -> Answer:
    """The messages of a 200 (or a 304 when If-None-Match has the ETag), with the
    headers the pipeline's Response gives them; no ETag when `etag` is "" (a list)."""
    headers = [(b"etag", etag.encode())] if etag else []
    if cache_control is not None:
        headers.append((b"cache-control", cache_control))
    if etag and if_none_match is not None and none_match(if_none_match.decode("latin-1"), etag):
        status, body = 304, b""
    else:
        status = 200
        headers += [(b"content-type", media_type), (b"content-length", b"%d" % len(body))]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": headers,
    }
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    return start, end


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
            reader=handler.opt.get(PUBLIC_READER),
        )
    return answerable
