"""TRUSTED_PROXIES: the client address behind load balancers and proxies, believed only
from the proxies named, and what the rate limit counts anonymous callers by."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from service.app import create_app
from service.settings import Settings, SettingsError
from service.web.forwarded import ForwardedClient
from tests.helpers import BASE_URL
from tests.web.test_limits_and_headers import frozen_clock

PROXY = "10.0.0.2"
TRUSTED = ("10.0.0.0/8",)


async def client_seen(
    peer: str | None, *forwarded: str, trusted: tuple[str, ...] = TRUSTED
) -> str | None:
    """The `scope["client"]` host the app gets from `peer` with these X-Forwarded-For
    headers."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["client"] = scope.get("client")

    scope = {
        "type": "http",
        "client": (peer, 40_000) if peer else None,
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }
    await ForwardedClient(app, trusted)(scope, None, None)  # type: ignore[arg-type]
    return seen["client"][0] if seen["client"] else None


def behind_proxy(app: Any) -> httpx.AsyncClient:
    """A client of `app` whose requests come from the proxy's address."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(PROXY, 40_000)), base_url=BASE_URL
    )


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # The proxy appended the address it got the request from.
        (PROXY, ["203.0.113.9"], "203.0.113.9"),
        # What the caller wrote itself, left of that, is not believed.
        (PROXY, ["198.51.100.1, 203.0.113.9"], "203.0.113.9"),
        # A chain of trusted proxies (a CDN's edge, then the load balancer).
        (PROXY, ["198.51.100.1, 203.0.113.9, 10.1.2.3"], "203.0.113.9"),
        # Several headers are one list, in order.
        (PROXY, ["198.51.100.1", "203.0.113.9, 10.1.2.3"], "203.0.113.9"),
        # Every hop trusted: the leftmost one is the client.
        (PROXY, ["10.9.9.9, 10.1.2.3"], "10.9.9.9"),
        (PROXY, [" 2001:db8::1 "], "2001:db8::1"),
        (PROXY, ["::ffff:203.0.113.9"], "203.0.113.9"),
        # Not an address: nothing left of it is believed, and alone it changes nothing.
        (PROXY, ["203.0.113.9, unknown, 10.1.2.3"], "10.1.2.3"),
        (PROXY, ["unknown"], PROXY),
        (PROXY, [""], PROXY),
        (PROXY, [], PROXY),
        # A caller that is not a trusted proxy cannot choose its address.
        ("198.51.100.7", ["203.0.113.9"], "198.51.100.7"),
        ("::ffff:10.0.0.2", ["203.0.113.9"], "203.0.113.9"),
        ("testclient", ["203.0.113.9"], "testclient"),
        (None, ["203.0.113.9"], None),
    ],
)
async def test_the_client_is_the_rightmost_untrusted_hop(
    peer: str | None, forwarded: list[str], client: str | None
) -> None:
    assert await client_seen(peer, *forwarded) == client


async def test_lifespan_passes_through() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    await ForwardedClient(app, TRUSTED)({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan"]


def test_the_setting_takes_addresses_and_networks() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://localhost/vr",
            "TRUSTED_PROXIES": " 10.0.0.0/8, 192.168.1.7 ,2001:db8::/32,, 172.16.5.4/12",
        }
    )
    assert settings.trusted_proxies == (
        "10.0.0.0/8",
        "192.168.1.7/32",
        "2001:db8::/32",
        "172.16.0.0/12",
    )
    assert Settings.from_env({"DATABASE_URL": "postgresql://localhost/vr"}).trusted_proxies == ()


@pytest.mark.parametrize("value", ["proxy.internal", "10.0.0.0/33", "*"])
def test_a_bad_proxy_address_is_refused_by_name(value: str) -> None:
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        Settings.from_env({"DATABASE_URL": "postgresql://localhost/vr", "TRUSTED_PROXIES": value})


async def test_anonymous_callers_behind_a_trusted_proxy_have_a_budget_each(
    settings: Settings,
) -> None:
    limited = msgspec.structs.replace(settings, rate_limit_anonymous=2, trusted_proxies=TRUSTED)
    app = create_app(limited)
    app.state.rate_limiter.clock = frozen_clock()  # all in one window
    async with app.lifespan(), behind_proxy(app) as http:

        async def get(client: str, spoofed: str = "198.51.100.1") -> httpx.Response:
            # nginx's $proxy_add_x_forwarded_for: what the caller sent, then its address.
            return await http.get(
                "/v1/organizations", headers={"X-Forwarded-For": f"{spoofed}, {client}"}
            )

        # One client, whatever it writes into the header itself: one budget.
        statuses = [(await get("203.0.113.9", f"192.0.2.{n}")).status_code for n in range(3)]
        assert statuses == [200, 200, 429]
        answer = await get("203.0.113.10")
        assert answer.status_code == 200
        assert answer.headers["RateLimit-Remaining"] == "1"


async def test_without_trusted_proxies_the_header_is_ignored(settings: Settings) -> None:
    limited = msgspec.structs.replace(settings, rate_limit_anonymous=2)
    app = create_app(limited)
    app.state.rate_limiter.clock = frozen_clock()  # all in one window
    async with app.lifespan(), behind_proxy(app) as http:
        statuses = [
            (
                await http.get("/v1/organizations", headers={"X-Forwarded-For": f"203.0.113.{n}"})
            ).status_code
            for n in range(3)
        ]
    assert statuses == [200, 200, 429]
