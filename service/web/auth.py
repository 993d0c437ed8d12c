"""Who is calling, and what they may do.

`Authorization: Bearer <key>` names an API key; no header means an anonymous caller.
A key carries one scope, and `admin` implies `write` implies `read`. Guards declared
with each route check the scope; the audience (what a caller may *see*) follows from
the same scope: `write` keys see the newsroom's internal material and drafts, everyone
else sees published content only.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterable
from enum import StrEnum
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import Reference, SecurityScheme
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute
from litestar.types import ASGIApp, Receive, Send
from litestar.types import Scope as ASGIScope

from service.kit.db import Connection

KEY_PREFIX = "vr_"


class Scope(StrEnum):
    """`read` < `write` < `admin`; each includes the ones before it."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


_RANK = {Scope.READ: 1, Scope.WRITE: 2, Scope.ADMIN: 3}


def highest(scopes: Iterable[Scope]) -> Scope:
    return max(scopes, key=_RANK.__getitem__)


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated identity of a request; anonymous when `key_id` is None."""

    key_id: UUID | None = None
    name: str | None = None
    scope: Scope | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.key_id is None

    def can(self, scope: Scope) -> bool:
        return self.scope is not None and _RANK[self.scope] >= _RANK[scope]

    @property
    def sees_unpublished(self) -> bool:
        """Internal documents and statements, drafts and what derives from them."""
        return self.can(Scope.WRITE)


ANONYMOUS = Caller()


def secret_digest(secret: str) -> bytes:
    """What is stored for a key: SHA-256 of the secret (256 random bits need no
    slow hash: there is nothing to brute-force)."""
    return hashlib.sha256(secret.encode()).digest()


class KeyCache:
    """Recently seen keys, so that a hot path does not look its key up on every
    request. An entry lives a few seconds: revoking a key takes effect in this process
    at once (see `forget`) and in every other process within `ttl_seconds`."""

    def __init__(self, ttl_seconds: float = 5.0, max_entries: int = 10_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[bytes, tuple[float, Caller | None]] = {}
        self._lookups: dict[bytes, asyncio.Future[Caller | None]] = {}
        self._generation = 0  # bumped by forget_all

    def get(self, digest: bytes) -> tuple[bool, Caller | None]:
        entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, digest: bytes, caller: Caller | None) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[digest] = (time.monotonic() + self.ttl_seconds, caller)

    def forget_all(self) -> None:
        self._entries.clear()
        # A lookup in flight may have read the key before it changed: not to be kept.
        self._lookups.clear()
        self._generation += 1

    async def look_up(
        self, digest: bytes, find: Callable[[], Awaitable[Caller | None]]
    ) -> Caller | None:
        """`find` the key once for every request that asks while it runs, and keep the
        answer: when an entry expires under load, the requests in flight would otherwise
        each look it up (a burst of queries, and of slow answers, every `ttl_seconds`)."""
        pending = self._lookups.get(digest)
        if pending is not None:
            return await asyncio.shield(pending)
        generation = self._generation
        pending = self._lookups[digest] = asyncio.ensure_future(find())
        try:
            caller = await asyncio.shield(pending)
        finally:
            if self._lookups.get(digest) is pending:
                del self._lookups[digest]
        if generation == self._generation:
            self.put(digest, caller)
        return caller


# How a key's digest becomes its caller (None: unknown, revoked or expired). The app
# wires in the API keys' repository (service/integrations/api_keys), which sits above
# the request pipeline: the pipeline knows what a caller is, not where keys are kept.
KeyLookup = Callable[[Connection, bytes], Awaitable["Caller | None"]]


class ApiKeyAuthentication:
    """Turns the bearer key into a Caller (`scope["user"]`); a bad, revoked or expired
    key is 401 at once, whatever the route (a client with broken credentials should
    learn it), except on the routes marked AUTHENTICATION_EXEMPT, which never look at
    the header, and for CORS preflights (OPTIONS), which never carry it.

    Litestar's AbstractAuthenticationMiddleware does the same, but builds a connection
    object and parses every header into a multidict to read one: this reads the raw
    header list, and an anonymous request costs a scan of it (bench/, profiled with
    py-spy). Keys are cached for a few seconds (`KeyCache`)."""

    __slots__ = ("app", "find_key")

    def __init__(self, app: ASGIApp, *, find_key: KeyLookup) -> None:
        self.app = app
        self.find_key = find_key

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        if scope["type"] in _AUTHENTICATED_SCOPES and not _exempt(scope):
            scope["user"] = await self.caller(scope)
            scope["auth"] = None
        await self.app(scope, receive, send)

    async def caller(self, scope: ASGIScope) -> Caller:
        header = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value
                break
        if header is None:
            return ANONYMOUS
        digest = bearer_digest(header)
        if digest is None:
            raise NotAuthorizedException("use Authorization: Bearer <api key>")
        state = scope["app"].state
        cache: KeyCache = state.key_cache
        known, caller = cache.get(digest)
        if not known:
            caller = await cache.look_up(digest, lambda: self._find(state, digest))
        if caller is None:
            raise NotAuthorizedException("the API key is unknown, revoked or expired")
        return caller

    async def _find(self, state: Any, digest: bytes) -> Caller | None:
        async with state.pool.acquire(timeout=state.settings.db_acquire_timeout_seconds) as conn:
            return await self.find_key(conn, digest)


def bearer_digest(header: bytes) -> bytes | None:
    """The stored digest of the key an `Authorization: Bearer vr_...` header names; None
    when the header is not of that form."""
    scheme, _, raw_secret = header.strip().partition(b" ")
    secret = raw_secret.strip().decode("latin-1")
    if scheme.lower() != b"bearer" or not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    return secret_digest(secret)


_AUTHENTICATED_SCOPES = frozenset({ScopeType.HTTP, ScopeType.WEBSOCKET})


def _exempt(scope: ASGIScope) -> bool:
    if scope.get("method") == "OPTIONS":
        return True
    handler = scope.get("route_handler")
    return handler is not None and bool(handler.opt.get(_EXEMPT_KEY))


# The `opt` of a controller or handler that never looks at `Authorization`: the probes
# and the metrics (an orchestrator's probe or a scraper with a stale key must still get
# its answer). `ApiKeyAuthentication` skips a handler whose `opt` has it (the key
# Litestar's own authentication middleware uses); the caller is then anonymous, and the
# request id, the metrics and the log line happen as for any request.
_EXEMPT_KEY = "exclude_from_auth"
AUTHENTICATION_EXEMPT: dict[str, Any] = {_EXEMPT_KEY: True}


def caller_of(request: ASGIConnection[Any, Any, Any, Any]) -> Caller:
    user = request.scope.get("user")
    return user if isinstance(user, Caller) else ANONYMOUS


# ---- guards ---------------------------------------------------------------------------


def _require(scope: Scope, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    caller = caller_of(connection)
    if caller.is_anonymous:
        raise NotAuthorizedException(f"this needs an API key with the `{scope}` scope")
    if not caller.can(scope):
        raise PermissionDeniedException(
            f"this needs the `{scope}` scope; the key has `{caller.scope}`"
        )


# The guards are coroutine functions although they never await: Litestar runs a plain
# function guard in its thread pool, a thread hop on every request that cost more CPU
# than the rest of a badge request (bench/, profiled with py-spy).


async def public_read(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Anyone may read published content while PUBLIC_READ is on; otherwise `read`."""
    if not connection.app.state.settings.public_read:
        _require(Scope.READ, connection)


async def requires_read(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    _require(Scope.READ, connection)


async def requires_write(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    _require(Scope.WRITE, connection)


async def requires_admin(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    _require(Scope.ADMIN, connection)


def guard_without_copies(routes: Iterable[BaseRoute]) -> None:
    """Run each route's guards on the handler itself rather than on a copy.

    Litestar's `authorize_connection` passes every guard `copy(handler)`: a shallow copy
    of the handler object on every request, about 8 % of a badge request's CPU time
    (bench/, profiled with py-spy). The guards of this service never look at (let alone
    change) the handler, so the handler itself will do. Done once, after the app is
    built, on the handlers it routes to; a handler class without a `__dict__` keeps
    Litestar's own method."""
    for route in routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            guards = tuple(handler.resolve_guards())
            if not guards or not hasattr(handler, "__dict__"):
                continue

            async def authorize_connection(
                connection: ASGIConnection[Any, Any, Any, Any],
                _guards: tuple[Any, ...] = guards,
                _handler: BaseRouteHandler = handler,
            ) -> None:
                for guard in _guards:
                    await guard(connection, _handler)

            handler.authorize_connection = authorize_connection  # type: ignore[method-assign]


# ---- the OpenAPI document ---------------------------------------------------------------

SECURITY_SCHEME = "ApiKey"
OPENAPI_SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {
    SECURITY_SCHEME: SecurityScheme(
        type="http",
        scheme="bearer",
        description=(
            "An API key, `Authorization: Bearer vr_...`, of scope `read`, `write` or `admin` "
            "(each includes the ones before it)."
        ),
    )
}


# The document's default, for every operation that does not say otherwise: a key is
# optional (`{}` is the anonymous alternative). Public reads inherit it rather than
# repeat it, because openapi-python-client (0.29) reads any operation-level `security`
# as "a key is required", `{}` or not, and would type them as needing an
# AuthenticatedClient; an operation without one takes a plain Client as well.
OPENAPI_SECURITY: list[dict[str, list[str]]] = [{}, {SECURITY_SCHEME: []}]


class DocumentSecurity(ReceiveRoutePlugin):
    """Declares in the OpenAPI document which operations need an API key (those with a
    scope guard). The others, public reads among them, take one optionally: the
    document's default, OPENAPI_SECURITY."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler, _ in route.route_handler_map.values():
            guards = {getattr(guard, "func", guard) for guard in handler.resolve_guards()}
            if guards & {requires_read, requires_write, requires_admin}:
                handler.security = [{SECURITY_SCHEME: []}]


# ---- dependencies -----------------------------------------------------------------------

Actor = NamedDependency[str | None]
CallerDep = NamedDependency[Caller]


def provide_actor(request: Request[Any, Any, Any]) -> str | None:
    """The name recorded as `actor` in the event log for this request's changes."""
    return caller_of(request).name


def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    return caller_of(request)


# ---- audiences ----------------------------------------------------------------------


class Audience(StrEnum):
    PUBLIC = "public"
    NEWSROOM = "newsroom"


def provide_audience(request: Request[Any, Any, Any]) -> Audience:
    return Audience.NEWSROOM if caller_of(request).sees_unpublished else Audience.PUBLIC


AudienceDep = NamedDependency[Audience]
