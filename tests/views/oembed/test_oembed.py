"""oEmbed 1.0: the embed code of a card for an embed or resource URL of this service,
and the URLs and formats it refuses."""

from __future__ import annotations

import pytest

from tests.distribution.support import PUBLIC_CACHE_CONTROL, parse
from tests.helpers import BASE_URL, MISSING_ID, assert_problem, create_document, create_statement

pytestmark = pytest.mark.asyncio


async def test_oembed_for_an_embed_url_and_a_resource_url(anonymous_client, client):
    statement = await create_statement(client, text="There has been no decision.")
    embed = f"{BASE_URL}/embed/statements/{statement['id']}"
    for url in (embed, f"{BASE_URL}/v1/statements/{statement['id']}", f"{embed}?utm=x"):
        response = await anonymous_client.get("/v1/oembed", params={"url": url})
        assert response.status_code == 200, (url, response.text)
        assert response.headers["cache-control"] == PUBLIC_CACHE_CONTROL
        answer = response.json()
        assert answer["version"] == "1.0" and answer["type"] == "rich"
        assert answer["provider_name"] == "Verification Record"
        assert answer["provider_url"] == BASE_URL
        assert answer["title"] == "There has been no decision."
        assert isinstance(answer["cache_age"], int) and answer["cache_age"] > 0
        assert (answer["width"], answer["height"]) == (560, 360)
        [iframe] = [attrs for tag, attrs in parse(answer["html"]).tags if tag == "iframe"]
        assert iframe["src"] == embed
        assert iframe["width"] == "560" and iframe["height"] == "360"

    document = await create_document(client, title="A <b>bold</b> letter")
    response = await anonymous_client.get(
        "/v1/oembed",
        params={"url": f"{BASE_URL}/embed/documents/{document['id']}", "maxwidth": 300,
                "maxheight": 200, "format": "json"},
    )  # fmt: skip
    answer = response.json()
    assert (answer["width"], answer["height"]) == (300, 200)
    assert "<b>" not in answer["html"] and "A &lt;b&gt;bold&lt;/b&gt; letter" in answer["html"]


async def test_oembed_refuses_foreign_unpublished_and_xml(anonymous_client, client):
    statement = await create_statement(client)
    hidden = await create_statement(client, visibility="internal")
    for url in (
        f"https://evil.example.com/embed/statements/{statement['id']}",
        f"https://testserver.local/embed/statements/{statement['id']}",  # not our scheme
        f"{BASE_URL}/v1/people/{statement['id']}",
        f"{BASE_URL}/embed/statements/{hidden['id']}",
        f"{BASE_URL}/embed/statements/{MISSING_ID}",
        "not a url at all",
    ):
        assert_problem(await anonymous_client.get("/v1/oembed", params={"url": url}), 404)
    ours = f"{BASE_URL}/embed/statements/{statement['id']}"
    assert_problem(
        await anonymous_client.get("/v1/oembed", params={"url": ours, "format": "xml"}), 501
    )
    assert_problem(await anonymous_client.get("/v1/oembed"), 422)
    assert_problem(
        await anonymous_client.get("/v1/oembed", params={"url": ours, "maxwidth": 0}), 422
    )
