"""Who may do what: an authorization matrix generated from the app's own routes, the
public's view of unpublished material (drafts, internal documents), and the keys."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import pytest
from litestar.handlers import HTTPRouteHandler
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.web import auth
from tests import keys
from tests.helpers import create_document, create_statement

pytestmark = pytest.mark.asyncio

CALLERS = {
    "anonymous": {},
    "read": keys.bearer(keys.READ),
    "write": keys.bearer(keys.WRITE),
    "admin": keys.bearer(keys.ADMIN),
    "revoked": keys.bearer(keys.REVOKED),
    "expired": keys.bearer(keys.EXPIRED),
}
# Routes outside the API proper: the probes, the metrics (kept off the public network,
# see service/web/metrics.py) and the OpenAPI documents.
UNGUARDED = re.compile(r"^/(health|schema|metrics)(/|$)")
# Of those, the ones that never look at `Authorization` (tests/web/test_probes.py).
IGNORE_AUTHORIZATION = re.compile(r"^/(health|metrics)(/|$)")


def api_routes(settings) -> list[tuple[str, str, HTTPRouteHandler]]:
    app = create_app(settings)
    routes = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                routes.append((method, route.path, handler))
    return routes


def required_scope(handler: HTTPRouteHandler) -> str | None:
    guards = {getattr(guard, "func", guard) for guard in handler.resolve_guards()}
    if auth.requires_admin in guards:
        return "admin"
    if auth.requires_write in guards:
        return "write"
    if auth.requires_read in guards:
        return "read"
    if auth.public_read in guards:
        return "public"
    return None


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: str(uuid.uuid4()) if "uuid" in m.group() else "x", path)


def expected_denial(scope: str | None, caller: str, path: str) -> int | None:
    """The status a caller must get from the guard, or None when it must pass."""
    if IGNORE_AUTHORIZATION.match(path):
        return None
    if caller in ("revoked", "expired"):
        return 401
    rank = {"anonymous": 0, "read": 1, "write": 2, "admin": 3}[caller]
    needed = {None: 0, "public": 0, "read": 1, "write": 2, "admin": 3}[scope]
    if rank >= needed:
        return None
    return 401 if caller == "anonymous" else 403


async def test_every_api_route_declares_a_guard(settings):
    unguarded = [
        f"{method} {path}"
        for method, path, handler in api_routes(settings)
        if not UNGUARDED.match(path) and required_scope(handler) is None
    ]
    assert unguarded == [], "routes without a scope guard"


async def test_authorization_matrix(client, settings):
    failures = []
    for method, path, handler in api_routes(settings):
        scope = required_scope(handler)
        url = concrete(path)
        for caller, headers in CALLERS.items():
            request_headers = {**headers, "If-Match": '"x"'}
            if client.headers.get("authorization") and "Authorization" not in headers:
                request_headers["Authorization"] = ""
            response = await request(client, method, url, headers, request_headers)
            denial = expected_denial(scope, caller, path)
            if denial is None and response.status_code in (401, 403):
                failures.append(
                    f"{caller} {method} {path}: {response.status_code}, expected to pass"
                )
            elif denial is not None and response.status_code != denial:
                failures.append(
                    f"{caller} {method} {path}: {response.status_code}, expected {denial}"
                )
            if response.status_code in (401, 403):
                assert response.headers["content-type"].startswith("application/problem+json")
    assert failures == []


async def request(
    client: AsyncTestClient,
    method: str,
    url: str,
    headers: dict[str, str],
    all_headers: dict[str, str],
) -> Any:
    # The shared client carries the admin key by default; send exactly this caller's.
    saved = client.headers.pop("authorization", None)
    try:
        extra = {k: v for k, v in all_headers.items() if k != "Authorization" or v}
        if method in ("POST", "PATCH", "PUT"):
            return await client.request(method, url, json={}, headers=extra)
        return await client.request(method, url, headers=extra)
    finally:
        if saved is not None:
            client.headers["authorization"] = saved


async def test_public_read_off_requires_a_key(settings, database_url):
    import msgspec

    private = msgspec.structs.replace(settings, public_read=False)
    async with AsyncTestClient(app=create_app(private)) as anonymous:
        denied = await anonymous.get("/v1/statements")
        assert denied.status_code == 401
        assert denied.headers["www-authenticate"].startswith("Bearer")
        allowed = await anonymous.get("/v1/statements", headers=keys.bearer(keys.READ))
        assert allowed.status_code == 200


# ---- the public's view of unpublished material --------------------------------------------

SECRET_HEADLINE = "Zanzibar draft verdict nobody outside may read"


@pytest.fixture
async def unpublished(client):
    """A public statement with a published verdict and a newer draft; an internal leak
    with a draft verdict; a relation from the public statement to the internal leak."""
    statement = await create_statement(client, text="A public quote about troops")
    leak = await create_document(
        client, title="Internal leak under verification", visibility="internal"
    )
    published = (
        await client.post(
            "/v1/assessments",
            json={
                "subject": {"type": "statement", "id": statement["id"]},
                "verdict": "mostly_true",
                "headline": "Published verdict",
            },
        )
    ).json()
    assert (await client.post(f"/v1/assessments/{published['id']}/publish")).status_code == 200
    draft = (
        await client.post(
            "/v1/assessments",
            json={
                "subject": {"type": "statement", "id": statement["id"]},
                "verdict": "false",
                "headline": SECRET_HEADLINE,
                "supersedes_id": published["id"],
            },
        )
    ).json()
    leak_draft = (
        await client.post(
            "/v1/assessments",
            json={
                "subject": {"type": "document", "id": leak["id"]},
                "verdict": "fabricated",
                "headline": SECRET_HEADLINE,
            },
        )
    ).json()
    relation = (
        await client.post(
            "/v1/relations",
            json={
                "source": {"type": "statement", "id": statement["id"]},
                "type": "denies",
                "target": {"type": "document", "id": leak["id"]},
            },
        )
    ).json()
    return {
        "statement": statement,
        "leak": leak,
        "published": published,
        "draft": draft,
        "leak_draft": leak_draft,
        "relation": relation,
    }


def public_urls(u: dict[str, Any]) -> list[str]:
    s, leak, draft, rel = (
        u["statement"]["id"],
        u["leak"]["id"],
        u["draft"]["id"],
        u["relation"]["id"],
    )
    return [
        "/v1/statements",
        f"/v1/statements/{s}",
        f"/v1/statements/{s}/record",
        f"/v1/statements/{s}/history",
        f"/v1/statements?related_to={leak}",
        "/v1/documents",
        f"/v1/documents/{leak}",
        f"/v1/documents/{leak}/record",
        f"/v1/documents/{leak}/history",
        "/v1/assessments",
        f"/v1/assessments?subject_id={s}",
        "/v1/assessments?state=draft",
        f"/v1/assessments/{draft}",
        f"/v1/assessments/{draft}/history",
        "/v1/relations",
        f"/v1/relations/{rel}",
        f"/v1/relations?resource_id={leak}",
        "/v1/search?q=zanzibar",
        "/v1/search?q=internal%20leak",
        "/v1/search?q=troops",
        "/v1/statements?verdict=false",
        "/v1/documents?verdict=fabricated",
    ]


@pytest.mark.parametrize("caller", ["anonymous", "read"])
async def test_nothing_unpublished_reaches_the_public(anonymous_client, unpublished, caller):
    hidden = [
        unpublished["draft"]["id"],
        unpublished["leak"]["id"],
        unpublished["leak_draft"]["id"],
        unpublished["relation"]["id"],
        SECRET_HEADLINE,
        "Internal leak",
    ]
    for url in public_urls(unpublished):
        response = await anonymous_client.get(url, headers=CALLERS[caller])
        assert response.status_code in (200, 404), f"{url}: {response.status_code}"
        # A 404 names the id the caller asked for, which reveals nothing.
        body = (
            response.text.replace(url.split("/")[3].split("?")[0], "")
            if response.status_code == 404
            else response.text
        )
        for secret in hidden:
            assert secret not in body, f"{url} reveals {secret!r}"
        # No verdict derived from a draft: the statement still shows the published one.
        if response.status_code == 200 and unpublished["statement"]["id"] in response.text:
            assert '"verdict":"false"' not in response.text, url
    one = await anonymous_client.get(
        f"/v1/statements/{unpublished['statement']['id']}", headers=CALLERS[caller]
    )
    verification = one.json()["verification"]
    assert verification["verdict"] == "mostly_true"
    assert verification["denials"] == 0  # the statement denies the leak, not the reverse
    assert (
        await anonymous_client.get(
            f"/v1/documents/{unpublished['leak']['id']}", headers=CALLERS[caller]
        )
    ).status_code == 404


async def test_the_newsroom_sees_everything(client, unpublished):
    for url in public_urls(unpublished):
        response = await client.get(url, headers=keys.bearer(keys.WRITE))
        assert response.status_code == 200, f"{url}: {response.status_code} {response.text}"
    draft = await client.get(
        f"/v1/assessments/{unpublished['draft']['id']}", headers=keys.bearer(keys.WRITE)
    )
    assert draft.json()["headline"] == SECRET_HEADLINE
    record = (await client.get(f"/v1/documents/{unpublished['leak']['id']}/record")).json()
    assert record["related"][0]["relation"]["id"] == unpublished["relation"]["id"]


async def test_internal_denials_do_not_count_for_the_public(client, anonymous_client):
    letter = await create_document(client, title="Public letter")
    internal = await create_statement(client, visibility="internal")
    body = {
        "source": {"type": "statement", "id": internal["id"]},
        "type": "denies",
        "target": {"type": "document", "id": letter["id"]},
    }
    assert (await client.post("/v1/relations", json=body)).status_code == 201
    newsroom = (await client.get(f"/v1/documents/{letter['id']}")).json()["verification"]
    public = (await anonymous_client.get(f"/v1/documents/{letter['id']}")).json()["verification"]
    assert newsroom["denials"] == 1 and public["denials"] == 0


# ---- keys ---------------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_key_lifecycle(client, anonymous_client, db):
    created = await client.post("/v1/api-keys", json={"name": "cms-plugin", "scopes": ["write"]})
    assert created.status_code == 201, created.text
    key = created.json()
    secret = key["secret"]
    assert secret.startswith(key["prefix"] + "_") and key["prefix"].startswith("vr_")
    assert len(secret) >= 40 and created.headers["cache-control"] == "no-store"
    assert key["scopes"] == ["write"]

    # Stored only as a hash.
    stored = await db.fetchrow("SELECT * FROM api_keys WHERE id = $1", uuid.UUID(key["id"]))
    assert secret not in repr(dict(stored))
    assert stored["secret_sha256"] == auth.secret_digest(secret)

    listed = (await client.get("/v1/api-keys")).json()["items"]
    assert any(k["id"] == key["id"] for k in listed)
    assert secret not in str(listed) and all("secret" not in k for k in listed)

    write = await anonymous_client.post(
        "/v1/organizations", json={"name": "Via the new key"}, headers=keys.bearer(secret)
    )
    assert write.status_code == 201
    history = (await client.get(f"/v1/organizations/{write.json()['id']}/history")).json()
    assert history["items"][0]["actor"] == "cms-plugin"
    used = (await client.get(f"/v1/api-keys/{key['id']}")).json()
    assert used["last_used_at"] is not None

    assert (await client.delete(f"/v1/api-keys/{key['id']}")).status_code == 204
    # The other app instance (another "process") hears of it through LISTEN/NOTIFY.
    for _ in range(50):
        revoked = await anonymous_client.get("/v1/statements", headers=keys.bearer(secret))
        if revoked.status_code == 401:
            break
        await asyncio.sleep(0.05)
    assert revoked.status_code == 401
    assert (await client.get(f"/v1/api-keys/{key['id']}")).json()["revoked_at"] is not None


async def test_bad_keys_and_bad_key_requests(client, anonymous_client):
    for header in ("Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", f"Bearer {keys.ADMIN}x", "vr_x"):
        response = await anonymous_client.get("/v1/statements", headers={"Authorization": header})
        assert response.status_code == 401, (header, response.text)
        assert keys.ADMIN not in response.text
    for body in (
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["root"]},
        {"scopes": ["read"]},
        {"name": "x", "scopes": ["read"], "secret": "mine"},
    ):
        assert (await client.post("/v1/api-keys", json=body)).status_code == 422, body
    assert (await client.get(f"/v1/api-keys/{uuid.uuid4()}")).status_code == 404
