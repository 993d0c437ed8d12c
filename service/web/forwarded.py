"""The client's address behind load balancers, proxies and CDNs (TRUSTED_PROXIES).

Anonymous callers are rate-limited per client address (service/web/ratelimit.py) and the
request's log line names the address; both read the ASGI `scope["client"]`, which is
the TCP peer. Behind a proxy that peer is the proxy, so every anonymous caller would
share one budget. `ForwardedClient` wraps the whole app: when the peer is a trusted
proxy, the client is the rightmost address of `X-Forwarded-For` that is not itself a
trusted proxy. Each proxy appends the address it got the request from, so whatever
lies further left was written by someone untrusted and is never believed.

With TRUSTED_PROXIES empty (the default) nothing is trusted and the header is ignored:
a caller who can reach the service directly could otherwise choose its own address,
and with it a fresh rate-limit budget per request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from litestar.types import ASGIApp, Receive, Scope, Send

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
HEADER = b"x-forwarded-for"


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class ForwardedClient:
    """ASGI wrapper that sets `scope["client"]` to the address behind trusted proxies."""

    def __init__(self, app: ASGIApp, trusted: Iterable[str]) -> None:
        """`trusted`: addresses or networks (`10.0.0.0/8`) of the proxies in front."""
        self.app = app
        self.networks = tuple(ipaddress.ip_network(network, strict=False) for network in trusted)

    def trusts(self, address: Address) -> bool:
        return any(address in network for network in self.networks)

    def client_behind(self, headers: Iterable[tuple[bytes, bytes]]) -> str | None:
        """The client address that `X-Forwarded-For` names behind trusted proxies, or
        None (no usable header: the peer stays the client)."""
        hops = [
            hop
            for name, value in headers
            if name == HEADER
            for hop in value.decode("latin-1").split(",")
        ]
        client: str | None = None
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                break  # not an address: nothing further left can be believed either
            client = str(address)
            if not self.trusts(address):
                break
        return client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            peer = scope.get("client")
            address = _address(peer[0]) if peer else None
            if address is not None and self.trusts(address):
                client = self.client_behind(scope["headers"])
                if client is not None:
                    scope["client"] = (client, 0)
        await self.app(scope, receive, send)
