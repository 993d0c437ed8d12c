"""Every request's id, metrics and log line, from one ASGI wrapper around the whole app.

`RequestTelemetry` wraps the app's ASGI handler itself (see `create_app`), outside the
router, so that it also sees what no route middleware does: 404s and 405s from the
router, 401s from authentication, 429s from the rate limit, 500s. For each HTTP
request it:

- adds, from its one send wrapper, the security, cache and rate-limit headers
  (`headers.response_headers`): one wrapper instead of one per concern;
- takes the client's `X-Request-ID` if it is 1 to 128 visible ASCII characters, else
  makes one (a random version-4 UUID, 32 hex digits), exposes it to logs (`logs.REQUEST_ID`)
  and to handlers (`request.state.request_id`), and sends it back in `X-Request-ID`;
- counts the request in the metrics by method, route template and status;
- writes one log line: method, route template, path, status, duration, request id and
  the caller's key name and id (never a secret, never a header's value), in batches of
  what a process logs within 50 ms (`logs.LineBatch`). Successful
  probes and scrapes are left out of the log (they come every few seconds and say
  nothing); they are counted in the metrics like everything else.
"""

from __future__ import annotations

import logging
import re
import time
from random import getrandbits
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from service.web.auth import Caller
from service.web.headers import AddHeaders
from service.web.logs import ACCESS_LINES, REQUEST_ID, plain_json_handlers, write_json_line
from service.web.metrics import UNMATCHED, Metrics

log = logging.getLogger("service.access")

HEADER = b"x-request-id"
_VALID_ID = re.compile(rb"[\x21-\x7e]{1,128}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_QUIET_ROUTES = frozenset({"/health/live", "/health/ready", "/metrics"})


# A version-4 UUID's fixed bits (version 4, RFC 4122 variant) in a 128-bit integer.
_UUID4_KEEP = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_UUID4_SET = (0x4 << 76) | (0x2 << 62)


def new_request_id() -> str:
    """A random version-4 UUID as 32 hex digits. From `random` (reseeded in every
    forked worker) rather than `uuid.uuid4()`: an id needs to be unique, not secret,
    and this takes a sixth of the time (about 1 µs against 6 here)."""
    return "%032x" % (getrandbits(128) & _UUID4_KEEP | _UUID4_SET)


def request_id_of(headers: Any) -> bytes | None:
    """The client's X-Request-ID when it is acceptable (1-128 visible ASCII characters)."""
    for name, value in headers:
        if name == HEADER:
            return value if _VALID_ID.fullmatch(value) else None
    return None


class RequestTelemetry:
    """The outermost ASGI wrapper of the app (see the module docstring)."""

    __slots__ = ("_add_headers", "_app", "_metrics", "_routes")

    def __init__(
        self, app: ASGIApp, metrics: Metrics, routes: dict[str, str], add_headers: AddHeaders
    ) -> None:
        """`routes` maps Litestar's path template (`/v1/statements/{id}`) to the route's
        path as declared (`/v1/statements/{id:uuid}`); `add_headers` adds the security,
        cache and rate-limit headers (`headers.response_headers`)."""
        self._app = app
        self._metrics = metrics
        self._routes = routes
        self._add_headers = add_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self._app(scope, receive, send)
            return
        await self._observe(scope, receive, send)

    async def _observe(self, scope: HTTPScope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        raw_id = request_id_of(scope["headers"])
        request_id = raw_id.decode() if raw_id is not None else new_request_id()
        scope["state"]["request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        echoed = (HEADER, raw_id if raw_id is not None else request_id.encode())
        status = 500  # what the client gets if the app fails before it answers
        add_headers = self._add_headers

        # The one send wrapper of the pipeline: the request id, and the headers of
        # `headers.response_headers` (the rate limit's among them).
        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A copy: a cached response replays the same message objects.
                message = {**message, "headers": [*message.get("headers", ()), echoed]}
                add_headers(message, scope)
            await send(message)

        try:
            await self._app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            method: str = scope["method"]
            if method not in _METHODS:
                method = "other"
            template = scope.get("path_template")
            route = UNMATCHED if template is None else self._routes.get(template, template)
            self._metrics.observe(method, route, status, seconds)
            if log.isEnabledFor(logging.INFO) and (status >= 400 or route not in _QUIET_ROUTES):
                self._log(scope, method, route, status, seconds)
            REQUEST_ID.reset(token)

    @staticmethod
    def _log(scope: HTTPScope, method: str, route: str, status: int, seconds: float) -> None:
        user = scope.get("user")
        caller = user if isinstance(user, Caller) else None
        client = scope.get("client")
        duration_ms = round(seconds * 1000, 3)
        fields = {
            "method": method,
            "route": route,
            "path": scope["path"],
            "status": status,
            "duration_ms": duration_ms,
            "caller": caller.name if caller is not None else None,
            "key_id": str(caller.key_id) if caller and caller.key_id else None,
            "client": client[0] if client else None,
        }
        handlers = plain_json_handlers(log, logging.INFO)
        if handlers is None:  # other handlers or filters: let logging do it all
            log.info("%s %s %d %.1f ms", method, scope["path"], status, duration_ms, extra=fields)
            return
        message = f"{method} {scope['path']} {status:d} {duration_ms:.1f} ms"
        write_json_line(handlers, log.name, "info", message, fields, batch=ACCESS_LINES)


def route_templates(paths: Any) -> dict[str, str]:
    """Litestar's path template of each route (`{id}`) to its declared path (`{id:uuid}`)."""
    return {route.path_format: route.path for route in paths}
