"""Registering webhooks, and the rule on where deliveries may go.

A webhook URL is a request the service makes on an administrator's behalf, from inside
the network it runs in. So that it cannot be aimed at the database, a metadata
endpoint or anything else on a private network (SSRF), the host must be, and resolve
to, globally routable addresses only, unless WEBHOOK_ALLOW_PRIVATE is set. The rule is
checked when a URL is registered (a clear 422) and again before every delivery, since
DNS answers change; the delivery then connects to the address that was checked.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import httpx
import msgspec

from service.integrations.webhooks import repository
from service.integrations.webhooks.schemas import (
    DeliveryPosition,
    DeliveryStatus,
    EventType,
    NewWebhook,
    Webhook,
    WebhookCreate,
    WebhookDeliveryPage,
    WebhookPage,
    WebhookPatch,
)
from service.kit.db import Connection
from service.kit.errors import NotFound, invalid_field
from service.kit.sql import Position
from service.settings import Settings
from service.web.http import IfMatch, decode_cursor, trim_page

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
# Registration answers while a database transaction is open: a slow resolver must not
# hold it for long.
RESOLVE_TIMEOUT_SECONDS = 5.0

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and the base64 of 256 random bits."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


# ---- where deliveries may go -----------------------------------------------------------------


class DestinationRefused(Exception):
    """The URL may not be delivered to; the message says why (and never holds the URL's
    credentials, so it may be shown and logged)."""


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked URL and, unless private addresses are allowed, the address to connect
    to: the one that was checked, so that a DNS answer changed in between (rebinding)
    cannot redirect the request."""

    url: httpx.URL
    address: IpAddress | None


def is_public(address: IpAddress) -> bool:
    """Globally routable: not private, loopback, link-local, shared, reserved, ..."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback in disguise
    return address.is_global and not address.is_multicast


def parse_url(url: str) -> httpx.URL:
    """The URL as the delivery client will read it; only absolute http(s) URLs."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        # What the schema's pattern lets through and httpx refuses: a malformed IP
        # address or international name in the host.
        raise DestinationRefused(f"not a valid host name ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise DestinationRefused("only absolute http:// and https:// URLs can receive webhooks")
    # The resolver would take port 70000 modulo 65536 and connect somewhere else.
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise DestinationRefused(f"port {parsed.port} is not between 1 and 65535")
    return parsed


async def resolve_destination(
    url: str, *, allow_private: bool, resolve_within: float
) -> Destination:
    """Check that `url` may receive deliveries; raise DestinationRefused if not.

    Every address the host resolves to must be public: a client may connect to any of
    them, so one private answer among public ones is refused too.
    """
    parsed = parse_url(url)
    if allow_private:
        return Destination(url=parsed, address=None)
    host = parsed.raw_host.decode("ascii")  # IDNA-encoded, as it would be looked up
    try:
        addresses: list[IpAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = await _resolve(
            host, parsed.port or (443 if parsed.scheme == "https" else 80), resolve_within
        )
    refused = [a for a in addresses if not is_public(a)]
    if refused:
        raise DestinationRefused(
            f"{host} is or resolves to a private, loopback, link-local or otherwise "
            f"non-public address ({refused[0]}); webhooks are delivered to public "
            "addresses only"
        )
    return Destination(url=parsed, address=addresses[0])


async def _resolve(host: str, port: int, within: float) -> list[IpAddress]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(within):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise DestinationRefused(f"{host} did not resolve within {within:g} s") from None
    except OSError:  # socket.gaierror: no such host, no address, resolver failure
        raise DestinationRefused(f"{host} does not resolve to an address") from None
    except UnicodeError:  # the IDNA codec refuses it, e.g. a label over 63 characters
        raise DestinationRefused(f"{host} is not a valid host name") from None
    addresses: list[IpAddress] = []
    for *_, sockaddr in infos:
        # An IPv6 sockaddr may carry a zone ("fe80::1%eth0"); the zone is not the address.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise DestinationRefused(f"{host} does not resolve to an address")
    return addresses


async def _check_url(url: str, settings: Settings) -> None:
    try:
        await resolve_destination(
            url,
            allow_private=settings.webhook_allow_private,
            resolve_within=RESOLVE_TIMEOUT_SECONDS,
        )
    except DestinationRefused as exc:
        raise invalid_field("url", str(exc)) from None


def _unique(events: Sequence[EventType]) -> list[EventType]:
    """The event types in the order given, each once."""
    return list(dict.fromkeys(events))


# ---- the resource ------------------------------------------------------------------------------


async def create_webhook(conn: Connection, data: WebhookCreate, settings: Settings) -> NewWebhook:
    """Register a webhook; the answer holds its signing secret, this once."""
    await _check_url(data.url, settings)
    secret = new_secret()
    webhook = await repository.insert(conn, data.url, _unique(data.events), data.active, secret)
    return NewWebhook(**msgspec.structs.asdict(webhook), secret=secret)


async def get_webhook(conn: Connection, id: UUID) -> Webhook:
    webhook = await repository.get(conn, id)
    if webhook is None:
        raise NotFound(f"no webhook with id {id}")
    return webhook


async def list_webhooks(conn: Connection, cursor: str | None, limit: int) -> WebhookPage:
    after = decode_cursor(cursor, Position)
    webhooks = await repository.page(conn, after, limit + 1)
    webhooks, next_cursor = trim_page(
        webhooks, limit, lambda w: Position(created_at=w.created_at, id=w.id)
    )
    return WebhookPage(items=webhooks, next_cursor=next_cursor)


async def update_webhook(
    conn: Connection, id: UUID, patch: WebhookPatch, if_match: IfMatch, settings: Settings
) -> Webhook:
    """Apply a PATCH under a row lock after checking If-Match; a PATCH that changes
    nothing writes nothing. Deliveries already queued keep going to the URL that is
    current when they are sent."""
    current = await repository.get(conn, id, lock=True)
    if current is None:
        raise NotFound(f"no webhook with id {id}")
    if_match.check(current)
    url = current.url if isinstance(patch.url, msgspec.UnsetType) else patch.url
    events = (
        current.events if isinstance(patch.events, msgspec.UnsetType) else _unique(patch.events)
    )
    active = current.active if isinstance(patch.active, msgspec.UnsetType) else patch.active
    if (url, events, active) == (current.url, current.events, current.active):
        return current
    if url != current.url:
        await _check_url(url, settings)
    return await repository.update(conn, id, url, events, active)


async def delete_webhook(conn: Connection, id: UUID, if_match: IfMatch) -> None:
    """Soft-delete: it answers 404 from then on, and its queued deliveries are dropped
    (marked `dead`) when a worker next picks them up."""
    current = await repository.get(conn, id, lock=True)
    if current is None:
        raise NotFound(f"no webhook with id {id}")
    if_match.check(current)
    await repository.soft_delete(conn, id)


async def list_deliveries(
    conn: Connection,
    id: UUID,
    status: DeliveryStatus | None,
    cursor: str | None,
    limit: int,
) -> WebhookDeliveryPage:
    """The webhook's deliveries, newest event first, each with its attempts."""
    after = decode_cursor(cursor, DeliveryPosition)
    if not await repository.exists(conn, id):
        raise NotFound(f"no webhook with id {id}")
    items = await repository.deliveries(conn, id, status, after, limit + 1)
    items, next_cursor = trim_page(items, limit, lambda d: DeliveryPosition(event_id=d.event_id))
    return WebhookDeliveryPage(items=items, next_cursor=next_cursor)
