"""Webhooks as a resource: admin only, the secret shown once, the usual conventions, and
URLs that would reach private networks refused."""

from __future__ import annotations

import base64

import pytest

from service.domain.history.schemas import EventAction, ResourceType
from service.integrations.webhooks.schemas import EventType
from tests import keys
from tests.helpers import (
    BASE_URL,
    MISSING_ID,
    all_ids,
    assert_conditional_get,
    assert_each_rejected,
    assert_problem,
    etag_of,
)

# Public addresses as literals: nothing is resolved, and the app runs no worker, so
# nothing is ever sent to them.
PUBLIC_URL = "https://93.184.215.14/hooks/record"
OTHER_PUBLIC_URL = "https://[2606:4700:4700::1111]:8443/other"


async def register(client, **fields):
    body = {"url": PUBLIC_URL, "events": ["statement.created"], **fields}
    response = await client.post("/v1/webhooks", json=body)
    assert response.status_code == 201, response.text
    return response


async def webhook_count(db) -> int:
    return await db.fetchval("SELECT count(*) FROM webhooks")


async def test_create_returns_the_secret_once(admin, db):
    response = await register(admin, events=["statement.created", "assessment.published"])
    created = response.json()
    assert response.headers["location"] == f"{BASE_URL}/v1/webhooks/{created['id']}"
    assert response.headers["cache-control"] == "no-store"
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 32
    assert created["events"] == ["statement.created", "assessment.published"]
    assert created["active"] is True and created["version"] == 1
    # Stored, since signing needs it ...
    assert await db.fetchval("SELECT secret FROM webhooks WHERE id = $1", created["id"]) == secret

    # ... and never shown again: not by GET, nor the list, nor PATCH, nor DELETE.
    url = f"/v1/webhooks/{created['id']}"
    fetched = await admin.get(url)
    assert "secret" not in fetched.json() and secret not in fetched.text
    # The ETag of the 201 is that of the webhook without its secret, usable for If-Match.
    assert response.headers["etag"] == fetched.headers["etag"]
    listed = await admin.get("/v1/webhooks")
    assert secret not in listed.text
    assert all("secret" not in item for item in listed.json()["items"])
    patched = await admin.patch(
        url, json={"active": False}, headers={"If-Match": response.headers["etag"]}
    )
    assert patched.status_code == 200, patched.text
    assert secret not in patched.text and patched.json()["active"] is False
    assert patched.json()["version"] == 2
    for other in (
        (await admin.get(f"{url}/deliveries")).text,
        (await admin.get("/v1/webhooks")).text,
    ):
        assert secret not in other


async def test_each_webhook_has_its_own_secret(admin):
    first = (await register(admin)).json()["secret"]
    second = (await register(admin)).json()["secret"]
    assert first != second


async def test_idempotent_create_never_replays_the_secret(admin, db):
    headers = {"Idempotency-Key": "webhook-once"}
    body = {"url": PUBLIC_URL, "events": ["*"]}
    first = await admin.post("/v1/webhooks", json=body, headers=headers)
    assert first.status_code == 201
    again = await admin.post("/v1/webhooks", json=body, headers=headers)
    assert_problem(again, 409)
    assert again.headers["location"] == first.headers["location"]
    assert first.json()["secret"] not in again.text
    assert await webhook_count(db) == 1


async def test_read_update_delete_follow_the_conventions(admin):
    created = (await register(admin)).json()
    url = f"/v1/webhooks/{created['id']}"
    await assert_conditional_get(admin, url)

    # If-Match: required (428), must be current (412).
    assert_problem(await admin.patch(url, json={"active": False}), 428)
    assert_problem(await admin.patch(url, json={"active": False}, headers={"If-Match": '"x"'}), 412)
    assert_problem(await admin.delete(url), 428)
    assert_problem(await admin.delete(url, headers={"If-Match": '"stale"'}), 412)

    etag = await etag_of(admin, url)
    changed = await admin.patch(
        url,
        json={"url": OTHER_PUBLIC_URL, "events": ["*", "*"]},
        headers={"If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["url"] == OTHER_PUBLIC_URL
    assert body["events"] == ["*"]  # each once
    assert body["version"] == 2 and body["updated_at"] >= body["created_at"]
    assert changed.headers["etag"] != etag

    # A PATCH that changes nothing writes nothing.
    same = await admin.patch(
        url, json={"url": OTHER_PUBLIC_URL}, headers={"If-Match": changed.headers["etag"]}
    )
    assert same.json()["version"] == 2

    # Soft delete: 404 afterwards, gone from the list, its deliveries too.
    deleted = await admin.delete(url, headers={"If-Match": changed.headers["etag"]})
    assert deleted.status_code == 204
    assert_problem(await admin.get(url), 404)
    assert_problem(await admin.get(f"{url}/deliveries"), 404)
    assert_problem(await admin.patch(url, json={"active": True}, headers={"If-Match": "*"}), 404)
    assert created["id"] not in await all_ids(admin, "/v1/webhooks")


async def test_missing_webhook_is_404(admin):
    for method in ("GET", "PATCH", "DELETE"):
        response = await admin.request(
            method,
            f"/v1/webhooks/{MISSING_ID}",
            headers={"If-Match": "*"},
            **({"json": {"active": False}} if method == "PATCH" else {}),
        )
        assert_problem(response, 404)
    assert_problem(await admin.get(f"/v1/webhooks/{MISSING_ID}/deliveries"), 404)


async def test_list_pages_newest_first(admin):
    ids = [(await register(admin)).json()["id"] for _ in range(5)]
    first = await admin.get("/v1/webhooks", params={"limit": 2})
    assert first.status_code == 200
    page = first.json()
    assert [item["id"] for item in page["items"]] == ids[::-1][:2]
    assert page["next_cursor"]
    assert await all_ids(admin, "/v1/webhooks", limit=2) == ids[::-1]
    assert_problem(await admin.get("/v1/webhooks", params={"limit": 101}), 422)
    assert_problem(await admin.get("/v1/webhooks", params={"cursor": "nonsense"}), 422)


async def test_invalid_bodies_are_refused(admin, db):
    cases = [
        ("unknown event", {"url": PUBLIC_URL, "events": ["statement.exploded"]}, "events[0]"),
        (
            "relations are never updated",
            {"url": PUBLIC_URL, "events": ["relation.updated"]},
            "events[0]",
        ),
        (
            "only assessments are published",
            {"url": PUBLIC_URL, "events": ["statement.published"]},
            "events[0]",
        ),
        ("unknown type", {"url": PUBLIC_URL, "events": ["webhook.created"]}, "events[0]"),
        ("no dot", {"url": PUBLIC_URL, "events": ["statement"]}, "events[0]"),
        ("one bad among good", {"url": PUBLIC_URL, "events": ["*", "nope"]}, "events[1]"),
        ("no events", {"url": PUBLIC_URL, "events": []}, "events"),
        ("events not a list", {"url": PUBLIC_URL, "events": "*"}, "events"),
        ("missing events", {"url": PUBLIC_URL}, "events"),
        ("missing url", {"events": ["*"]}, "url"),
        ("ftp url", {"url": "ftp://93.184.215.14/x", "events": ["*"]}, "url"),
        ("relative url", {"url": "/hooks", "events": ["*"]}, "url"),
        ("javascript url", {"url": "javascript:alert(1)", "events": ["*"]}, "url"),
        ("long url", {"url": PUBLIC_URL + "/" + "a" * 2100, "events": ["*"]}, "url"),
        ("port out of range", {"url": "https://93.184.215.14:70000/", "events": ["*"]}, "url"),
        ("space in url", {"url": "https://93.184.215.14/a b", "events": ["*"]}, "url"),
        ("not ascii", {"url": "https://bücher.example/x", "events": ["*"]}, "url"),
        ("trailing newline", {"url": PUBLIC_URL + "\n", "events": ["*"]}, "url"),
        ("bad ipv4", {"url": "https://93.184.215.999/", "events": ["*"]}, "url"),
        ("active not a bool", {"url": PUBLIC_URL, "events": ["*"], "active": "yes"}, "active"),
        ("unknown field", {"url": PUBLIC_URL, "events": ["*"], "color": "red"}, "color"),
        (
            "read-only secret",
            {"url": PUBLIC_URL, "events": ["*"], "secret": "whsec_AAAA"},
            "secret",
        ),
        ("read-only id", {"url": PUBLIC_URL, "events": ["*"], "id": MISSING_ID}, "id"),
    ]
    await assert_each_rejected(admin, db, "POST", "/v1/webhooks", cases)
    assert await webhook_count(db) == 0

    created = (await register(admin)).json()
    url = f"/v1/webhooks/{created['id']}"
    patch_cases = [
        ("unknown event", {"events": ["person.retracted"]}, "events[0]"),
        ("null url", {"url": None}, "url"),
        ("read-only version", {"version": 7}, "version"),
    ]
    await assert_each_rejected(admin, db, "PATCH", url, patch_cases, headers={"If-Match": "*"})
    assert (await admin.get(url)).json()["version"] == 1


REFUSED_URLS = [
    "http://127.0.0.1/hook",
    "http://127.1.2.3:8080/hook",
    "http://localhost:8000/hook",
    "http://LOCALHOST./hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.1/hook",
    "https://192.168.1.10/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://[::1]/hook",
    "http://[fd00::1]/hook",
    "http://[fe80::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://192.0.2.1/hook",
    "http://2130706433/hook",  # 127.0.0.1, as the resolver reads a bare number
    "http://0x7f.0.0.1/hook",
    "http://user:pw@127.0.0.1/hook",
    "https://nonexistent.invalid/hook",
]


async def test_private_and_unresolvable_hosts_are_refused(admin, db):
    failures = []
    for url in REFUSED_URLS:
        response = await admin.post("/v1/webhooks", json={"url": url, "events": ["*"]})
        try:
            problem = assert_problem(response, 422, field="url")
            assert "address" in problem["detail"], problem
        except AssertionError as exc:
            failures.append(f"{url}: {exc}")
    assert failures == []
    assert await webhook_count(db) == 0


async def test_a_patch_to_a_private_url_is_refused(admin):
    created = (await register(admin)).json()
    url = f"/v1/webhooks/{created['id']}"
    response = await admin.patch(
        url, json={"url": "http://127.0.0.1:5432/"}, headers={"If-Match": "*"}
    )
    assert_problem(response, 422, field="url")
    assert (await admin.get(url)).json()["url"] == PUBLIC_URL


async def test_private_urls_are_allowed_when_configured(loopback_admin):
    for url in ("http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.0.0.7/x"):
        response = await loopback_admin.post("/v1/webhooks", json={"url": url, "events": ["*"]})
        assert response.status_code == 201, response.text
        assert response.json()["url"] == url


@pytest.mark.parametrize(
    ("key", "status"),
    [(None, 401), (keys.READ, 403), (keys.WRITE, 403), (keys.REVOKED, 401)],
    # Not the secrets, which are new every run: the same ids in every run and process.
    ids=["anonymous", "read", "write", "revoked"],
)
async def test_only_admins_manage_webhooks(admin, key, status):
    created = (await register(admin)).json()
    url = f"/v1/webhooks/{created['id']}"
    saved = admin.headers.pop("authorization")
    try:
        headers = {"If-Match": "*", **(keys.bearer(key) if key else {})}
        for method, path, body in (
            ("POST", "/v1/webhooks", {"url": PUBLIC_URL, "events": ["*"]}),
            ("GET", "/v1/webhooks", None),
            ("GET", url, None),
            ("PATCH", url, {"active": False}),
            ("DELETE", url, None),
            ("GET", f"{url}/deliveries", None),
        ):
            response = await admin.request(method, path, json=body, headers=headers)
            assert_problem(response, status)
            assert "secret" not in response.text
    finally:
        admin.headers["authorization"] = saved
    assert (await admin.get(url)).json()["active"] is True


def test_event_types_name_real_resource_types_and_actions():
    for event_type in EventType:
        if event_type is EventType.ALL:
            continue
        resource_type, action = event_type.value.split(".")
        ResourceType(resource_type)
        EventAction(action)
    # Every resource can at least be created and deleted.
    for resource_type in ResourceType:
        for action in ("created", "deleted"):
            EventType(f"{resource_type.value}.{action}")
