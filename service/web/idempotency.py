"""`Idempotency-Key` on every POST: a retried request gets the first answer, not a
second resource.

One request goes through three steps, each wired once:

1. `start`, a `before_request` hook, validates the header and fingerprints the request
   (SHA-256 over method, path and the raw body bytes).
2. `claim` runs first thing in the request's transaction (the `tx` dependency calls it),
   before the handler. It takes a transaction-scoped advisory lock on (caller, key)
   *without waiting*, so a duplicate that arrives while the first is in flight gets 409
   at once instead of queueing behind it. Holding the lock, it looks the key up: a live
   record with the same fingerprint is replayed (the handler never runs, the transaction
   rolls back having done nothing); one with another fingerprint is 422. Lock and lookup
   are one call of `claim_idempotency_key` (migration 0013), one round trip.
3. `record`, an `after_request` hook, stores the response. Litestar calls after_request
   hooks while it builds the response, inside the block that later cleans up generator
   dependencies (`HTTPRoute._call_handler_function`), so the transaction is still open:
   the record commits together with the change, or not at all.

Decisions a client can rely on:

- Keys are scoped to the caller (the API key id) and kept 24 hours; an older record is
  ignored and overwritten, and expired rows are purged now and then by writers.
- Only 2xx responses are recorded. A request that failed (4xx or 5xx) rolled back and
  left no record, so the client may fix it and retry with the same key.
- A response marked `Cache-Control: no-store` carries a secret (a new API key's, which
  is stored only hashed): it is recorded without its body, so a repeat cannot create a
  second resource, and it answers 409 with the first resource's `Location` instead of
  replaying the secret.
"""

from __future__ import annotations

import hashlib
import random
import re
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, Response
from litestar.datastructures import ResponseHeader
from litestar.enums import MediaType, ParamType
from litestar.exceptions import ImproperlyConfiguredException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, Operation, Parameter, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute
from litestar.serialization import get_serializer
from litestar.types import ASGIApp
from litestar.utils.helpers import get_enum_string_value

from service.kit.errors import Conflict, FieldError, InvalidInput, problem_response
from service.web.auth import caller_of
from service.web.http import problem_responses

if TYPE_CHECKING:
    from service.kit.db import Connection

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
RETENTION = timedelta(hours=24)
# 1 to 255 visible ASCII characters (the column allows 255; a UUID is the usual choice).
_VALID_KEY = re.compile(r"[!-~]{1,255}")

# Purging is a side job of writes: about one recorded POST in PURGE_ONE_IN deletes at
# most PURGE_BATCH expired rows, which outpaces the rate keys are created at.
PURGE_ONE_IN = 100
PURGE_BATCH = 500

# The dependency that opens the transaction a handler writes in, which is where the key
# is claimed and the record written: a POST without it could not honour the header.
TRANSACTION_DEPENDENCY = "tx"

# The lock, then the lookup in a snapshot taken after it: one round trip (migration 0013).
_CLAIM = "SELECT * FROM claim_idempotency_key($1, $2, $3, $4::interval)"
# Overwrites only an expired record. A live one here means another transaction recorded
# this key after we looked (only possible if the lock and the lookup did not see the same
# world, e.g. under a stricter isolation level): no row comes back and we refuse.
_INSERT = """
INSERT INTO idempotency_keys AS k (caller, key, request_sha256, status_code, headers, body)
VALUES ($1, $2, $3, $4, $5::jsonb, $6)
ON CONFLICT (caller, key) DO UPDATE
    SET request_sha256 = excluded.request_sha256,
        status_code = excluded.status_code,
        headers = excluded.headers,
        body = excluded.body,
        created_at = excluded.created_at
    WHERE k.created_at <= now() - $7::interval
RETURNING true
"""
# SKIP LOCKED: a purge never waits for, nor makes wait, a request using one of those keys.
_PURGE = """
DELETE FROM idempotency_keys
WHERE created_at <= now() - $1::interval
  AND (caller, key) IN (
    SELECT caller, key FROM idempotency_keys
    WHERE created_at <= now() - $1::interval
    ORDER BY created_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
  )
"""


@dataclass(slots=True)
class Attempt:
    """A POST that came with an Idempotency-Key; `connection` is set once claimed."""

    caller: str
    key: str
    fingerprint: bytes
    route_handler: HTTPRouteHandler
    connection: Connection | None = None


# The attempt of the request being served. A ContextVar rather than request state because
# the after_request hook receives only the response; `start` sets it (or clears it) for
# every request, so nothing leaks from one request to the next. Litestar may resolve the
# `tx` dependency in a child task, which sees this same Attempt object and marks it
# claimed in place (setting the variable there would not be seen by the hook).
_attempt: ContextVar[Attempt | None] = ContextVar("idempotency_attempt", default=None)


class Replay(Exception):
    """Raised by `claim` to answer with the recorded response instead of running the
    handler; `body` is None when the first response was not kept (it held a secret)."""

    def __init__(self, status_code: int, headers: dict[str, str], body: bytes | None) -> None:
        super().__init__("replay of an idempotent request")
        self.status_code = status_code
        self.headers = headers
        self.body = body


def lock_id(caller: str, key: str) -> int:
    """The advisory lock of (caller, key): 64 bits of a keyed hash, so that it cannot
    collide with the application's other advisory locks in practice."""
    digest = hashlib.blake2b(
        f"{caller}\n{key}".encode(), digest_size=8, person=b"idempotency"
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> bytes:
    """What makes two requests "the same": method, path (with any query) and body bytes."""
    target = f"{method} {path}".encode() + (b"?" + query if query else b"")
    return hashlib.sha256(target + b"\n" + body).digest()


def _invalid_key(message: str) -> InvalidInput:
    return InvalidInput(f"{HEADER}: {message}", errors=[FieldError(field=HEADER, message=message)])


# ---- the three steps -------------------------------------------------------------------


async def start(request: Request[Any, Any, Any]) -> None:
    """before_request: validate the header of a POST and remember the attempt."""
    _attempt.set(None)
    if request.method != "POST":
        return
    values = request.headers.getall(HEADER, [])
    if not values:
        return
    if len(values) > 1:
        raise _invalid_key("send the header once")
    key = values[0]
    if not _VALID_KEY.fullmatch(key):
        raise _invalid_key("use 1 to 255 visible ASCII characters (a UUID, for example)")
    caller = caller_of(request)
    if caller.key_id is None:
        # Every POST needs the write scope, so this is unreachable today; an anonymous
        # POST could not be scoped to a caller, so it would get no replay at all.
        return
    body = await request.body()
    _attempt.set(
        Attempt(
            caller=str(caller.key_id),
            key=key,
            fingerprint=fingerprint(
                request.method, request.scope["path"], request.scope["query_string"], body
            ),
            route_handler=request.route_handler,
        )
    )


async def claim(conn: Connection) -> None:
    """Inside the request's transaction, before the handler: take the key or end the
    request (409 while another request holds it, a replay, or 422 for another body).

    A no-op for requests without an Idempotency-Key.
    """
    attempt = _attempt.get()
    if attempt is None:
        return
    row = await conn.fetchrow(
        _CLAIM, lock_id(attempt.caller, attempt.key), attempt.caller, attempt.key, RETENTION
    )
    assert row is not None  # a function of OUT parameters returns one row
    if not row["locked"]:
        raise Conflict(
            f"a request with this {HEADER} is still in progress; retry shortly",
            headers={"Retry-After": "1"},
        )
    if row["request_sha256"] is not None:
        if row["request_sha256"] != attempt.fingerprint:
            raise _invalid_key(
                "this key was already used with a different request (method, path or body); "
                "use a new key for a new request"
            )
        headers = msgspec.json.decode(row["headers"], type=dict[str, str])
        raise Replay(row["status_code"], headers, row["body"])
    attempt.connection = conn


async def record(response: ASGIApp) -> ASGIApp:
    """after_request: store a claimed attempt's 2xx response in its still-open transaction."""
    attempt = _attempt.get()
    if attempt is None or attempt.connection is None:
        return response
    _attempt.set(None)
    if not isinstance(response, Response):
        # Failing here rolls the change back: better than a change that a retry repeats.
        raise TypeError(f"cannot record a {type(response).__name__} for {HEADER}")
    handler = attempt.route_handler
    status = response.status_code or handler.status_code
    if not 200 <= status < 300:
        return response
    media_type = get_enum_string_value(response.media_type or handler.media_type or MediaType.JSON)
    body = response.render(
        response.content, media_type, get_serializer(handler.resolve_type_encoders())
    )
    # Rendered once: what is stored is byte for byte what is sent (bytes pass as they are).
    response.content = body
    # A replay is served by an exception handler, outside the route's response pipeline:
    # store the headers the route adds on its own too, so the replay carries them.
    static = {
        h.name: str(h.value) for h in handler.resolve_response_headers() if not h.documentation_only
    }
    headers = {
        "Content-Type": media_type,
        **static,
        **{k: str(v) for k, v in response.headers.items()},
    }
    kept = None if _holds_secret(headers) else body
    conn = attempt.connection
    recorded = await conn.fetchval(
        _INSERT,
        attempt.caller,
        attempt.key,
        attempt.fingerprint,
        status,
        msgspec.json.encode(headers).decode(),
        kept,
        RETENTION,
    )
    if not recorded:
        raise Conflict(
            f"a request with this {HEADER} completed concurrently; retry to get its response",
            headers={"Retry-After": "1"},
        )
    if random.randrange(PURGE_ONE_IN) == 0:
        await purge_expired(conn)
    return response


async def purge_expired(conn: Connection, limit: int = PURGE_BATCH) -> int:
    """Delete up to `limit` records older than the retention; returns how many."""
    status = await conn.execute(_PURGE, RETENTION, limit)
    return int(status.rsplit(" ", 1)[-1])


def _holds_secret(headers: dict[str, str]) -> bool:
    cache_control = next((v for k, v in headers.items() if k.lower() == "cache-control"), "")
    return "no-store" in cache_control.lower()


def replay_response(request: Request[Any, Any, Any], replay: Replay) -> Response[Any]:
    """The exception handler for `Replay`: the first response again, marked as such."""
    if replay.body is None:
        headers = {k: v for k, v in replay.headers.items() if k.lower() == "location"}
        return problem_response(
            request,
            409,
            f"a request with this {HEADER} already succeeded (see Location); its response "
            "held a secret, which is shown once and not kept",
            slug="conflict",
            headers=headers,
        )
    headers = {k: v for k, v in replay.headers.items() if k.lower() != "content-type"}
    media_type = next(
        (v for k, v in replay.headers.items() if k.lower() == "content-type"), MediaType.JSON
    )
    return Response(
        replay.body,
        status_code=replay.status_code,
        media_type=media_type,
        headers={**headers, REPLAYED_HEADER: "true"},
    )


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {Replay: replay_response}


# ---- every POST: checked at start-up and documented ---------------------------------------

_DESCRIPTION = (
    "Makes a retry safe. The first successful (2xx) response to a request with this key "
    "is kept for 24 hours, per API key; sending the same request (same method, path and "
    "body bytes) with the same key again returns that response, with "
    "`Idempotent-Replayed: true`, instead of doing the work twice. The same key with a "
    "different request is 422; while the first request is still in progress, 409. A "
    "request that failed is not kept: fix it and retry with the same key. A response that "
    "holds a secret (a new API key) is not kept either: its repeat is 409 with the "
    "`Location` of what the first request created. 1 to 255 visible ASCII characters; a "
    "random UUID is a good key."
)

KEY_PARAMETER = Parameter(
    name=HEADER,
    param_in=ParamType.HEADER,
    required=False,
    description=_DESCRIPTION,
    schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=255, pattern="^[!-~]+$"),
)
REPLAYED = ResponseHeader(
    name=REPLAYED_HEADER,
    description=f"`true` when this is the kept response to an earlier request with the same {HEADER}.",
    documentation_only=True,
    value="",  # documents the header as a string; never sent as is
)
_ALSO = {
    409: f"Also when a request with the same {HEADER} is still in progress (retry after `Retry-After` seconds).",
    422: f"Also when {HEADER} is malformed, or was used before with a different request.",
}


@dataclass
class IdempotentOperation(Operation):
    """An operation that documents the Idempotency-Key request header."""

    def __post_init__(self) -> None:
        self.parameters = [*(self.parameters or []), KEY_PARAMETER]


class IdempotentPosts(ReceiveRoutePlugin):
    """Checks at start-up that every POST runs in the `tx` transaction (where its key is
    claimed and its response recorded), so a new POST route cannot forget idempotency,
    and documents the header and its 409 and 422 answers on each."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute) or "POST" not in route.route_handler_map:
            return
        handler, kwargs_model = route.route_handler_map["POST"]
        dependencies = {d.key for batch in kwargs_model.dependency_batches for d in batch}
        if TRANSACTION_DEPENDENCY not in dependencies:
            raise ImproperlyConfiguredException(
                f"POST {route.path} ({handler.handler_name}) must take the "
                f"`{TRANSACTION_DEPENDENCY}` dependency: {HEADER} is claimed and its "
                "response recorded in that transaction"
            )
        _document(handler)


def _document(handler: HTTPRouteHandler) -> None:
    if handler.operation_class is not Operation:
        raise ImproperlyConfiguredException(
            f"{handler.handler_name} has its own operation_class; document {HEADER} there"
        )
    handler.operation_class = IdempotentOperation
    responses = dict(handler.responses or {})
    for status, also in _ALSO.items():
        spec = responses.get(status) or problem_responses(status)[status]
        responses[status] = _with_description(spec, f"{spec.description} {also}")
    handler.responses = responses
    headers = list(handler.response_headers or [])
    handler.response_headers = [*headers, REPLAYED]


def _with_description(spec: ResponseSpec, description: str) -> ResponseSpec:
    examples = [
        Example(summary=description, value=example.value) for example in spec.examples or []
    ]
    return replace(spec, description=description, examples=examples or None)
