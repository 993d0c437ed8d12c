from __future__ import annotations

import pytest

pytestmark = pytest.mark.asyncio


async def test_create_then_read(client):
    r = await client.post("/v1/organizations", json={"name": "Reuters", "kind": "news_outlet"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["version"] == 1
    assert r.headers["location"].endswith(f"/v1/organizations/{body['id']}")
    got = await client.get(f"/v1/organizations/{body['id']}")
    assert got.json() == body
    assert got.headers["etag"] == r.headers["etag"]
