"""Keep-alive connections through answers given before the request's body was read.

Some answers go out before the body is read: 413 (MAX_BODY_BYTES, refused by its
Content-Length or part-way through), 401 from authentication, 403 from a guard, 429
from the rate limit. The rest of that body is still on its way in the connection,
which therefore cannot carry another request. Left to itself, granian then closes the
connection, but does not always say so (`Connection: close` comes and goes with how
much of the body it had buffered), and it closes with the body's bytes still unread,
which makes the kernel send a reset: a client still writing its body loses the answer
("connection reset"), and a keep-alive client that sends its next request on the
connection sees the server disconnect without an answer.

`CloseUnreadBodies` wraps the whole app. When a response starts before the request's
body was received to its end, it adds `Connection: close`, so that the client opens a
new connection for its next request. Once the app has answered, it reads what is left
of the body and drops it (up to DRAIN_MAX_BYTES, for at most DRAIN_SECONDS; the
answer has already gone out), so that the server closes the connection only after the
client has sent everything, cleanly, with no reset. A client that sends more than that,
or more slowly, may still see a reset.

Requests without a body (no Content-Length, or 0, and no Transfer-Encoding), which is
most of them, pass straight through: no wrapper is made for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from contextlib import suppress

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

CLOSE = (b"connection", b"close")
# How much of a refused body is read and dropped before the connection is closed.
DRAIN_MAX_BYTES = 16 << 20
DRAIN_SECONDS = 5.0


def announces_body(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether the request announces a body: a non-zero Content-Length, or chunks."""
    for name, value in headers:
        if name == b"content-length":
            return value.strip(b" 0") != b""
        if name == b"transfer-encoding":
            return True
    return False


class CloseUnreadBodies:
    """ASGI wrapper: an answer given before the request's body was read closes the
    connection cleanly (see the module docstring)."""

    __slots__ = ("_app",)

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != ScopeType.HTTP
            or not announces_body(scope["headers"])
            # HTTP/2 ends a request's stream on its own, and has no Connection header.
            or scope.get("http_version") == "2"
        ):
            await self._app(scope, receive, send)
            return
        received = False  # the body to its end (or the client gone)

        async def receive_noting_the_end() -> ReceiveMessage:
            nonlocal received
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                received = True
            return message

        async def send_closing_if_unread(message: Message) -> None:
            if not received and message["type"] == "http.response.start":
                # A copy: a cached response replays the same message objects.
                message = {**message, "headers": [*message.get("headers", ()), CLOSE]}
            await send(message)

        await self._app(scope, receive_noting_the_end, send_closing_if_unread)
        if not received:
            await drain(receive)


async def drain(receive: Receive) -> None:
    """Read the rest of the request's body and drop it, within the bounds above."""
    drained = 0
    with suppress(TimeoutError):
        async with asyncio.timeout(DRAIN_SECONDS):
            while drained <= DRAIN_MAX_BYTES:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    return
                drained += len(message.get("body", b""))
