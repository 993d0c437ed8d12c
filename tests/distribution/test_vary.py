"""Badges, cards, oEmbed and ClaimReview are the same for every caller, so they do not
`Vary: Authorization` (which would make a CDN keep one copy per key): a newsroom key
sees exactly what the public sees there, drafts and internal material never."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from service.app import create_app
from tests import keys
from tests.distribution.support import assess
from tests.helpers import BASE_URL, create_document, create_statement

pytestmark = pytest.mark.asyncio


def varies_by_authorization(response: Any) -> bool:
    fields = {f.strip().lower() for f in response.headers.get("vary", "").split(",")}
    return "authorization" in fields or "*" in fields


async def public_urls(client: Any) -> list[str]:
    statement = await create_statement(client)
    document = await create_document(client)
    await assess(client, "statement", statement["id"], "mostly_false")
    # A draft on top of the published verdict: a newsroom key must not see it here.
    await assess(client, "statement", statement["id"], "true", publish=False)
    await assess(client, "document", document["id"], "authentic")
    s, d = statement["id"], document["id"]
    return [
        f"/v1/badges/statements/{s}.svg",
        f"/v1/badges/statements/{s}.json",
        f"/v1/badges/documents/{d}.json",
        f"/embed/statements/{s}",
        f"/v1/oembed?url={BASE_URL}/embed/statements/{s}",
        f"/v1/statements/{s}/claimreview",
        f"/v1/documents/{d}/claimreview",
    ]


async def test_public_content_is_the_same_for_every_caller_and_does_not_vary(
    client, anonymous_client
):
    urls = await public_urls(client)
    for url in urls:
        public = await anonymous_client.get(url)
        assert public.status_code == 200, (url, public.text)
        assert not varies_by_authorization(public), (url, public.headers)
        for secret in (keys.ADMIN, keys.WRITE, keys.READ):
            keyed = await anonymous_client.get(url, headers=keys.bearer(secret))
            assert keyed.status_code == 200, (url, keyed.text)
            assert keyed.content == public.content, url
            assert keyed.headers["etag"] == public.headers["etag"], url
            assert not varies_by_authorization(keyed), (url, keyed.headers)
    # A 404 there is the same for everyone too.
    missing = await client.get("/v1/badges/statements/00000000-0000-4000-8000-000000000000.svg")
    assert missing.status_code == 404
    assert not varies_by_authorization(missing)
    # What does depend on the caller still varies.
    statement_id = urls[-2].split("/")[3]
    for response in (
        await anonymous_client.get(f"/v1/statements/{statement_id}"),
        await client.get(f"/v1/statements/{statement_id}"),
        await client.get("/v1/statements"),
    ):
        assert varies_by_authorization(response), response.headers


async def test_without_public_read_they_vary_again(client, settings):
    """With PUBLIC_READ off an anonymous caller gets 401 where a key gets the badge:
    then the answer does depend on Authorization."""
    urls = await public_urls(client)
    private = msgspec.structs.replace(settings, public_read=False)
    app = create_app(private)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http,
    ):
        for url in (u for u in urls if u.startswith("/v1/")):
            assert (await http.get(url)).status_code == 401, url
            keyed = await http.get(url, headers=keys.bearer(keys.READ))
            assert keyed.status_code == 200, (url, keyed.text)
            assert varies_by_authorization(keyed), (url, keyed.headers)
