"""Organizations through HTTP: create, read, list and filter, patch, delete, history,
and every way a write can be refused without touching the database."""

from __future__ import annotations

from uuid import UUID

import pytest

from tests.helpers import (
    BASE_URL,
    JSON,
    MISSING_ID,
    all_ids,
    assert_conditional_get,
    assert_each_rejected,
    assert_problem,
    assert_rejected,
    create_organization,
    create_person,
    etag_of,
    history,
    list_ids,
    patch,
    snapshot,
)

pytestmark = pytest.mark.asyncio

URL = "/v1/organizations"

KINDS = ["news_outlet", "government", "military", "political_party", "company", "ngo", "other"]


# ---- create and read --------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_create_then_read(client):
    r = await client.post("/v1/organizations", json={"name": "Reuters", "kind": "news_outlet"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["version"] == 1
    assert r.headers["location"].endswith(f"/v1/organizations/{body['id']}")
    got = await client.get(f"/v1/organizations/{body['id']}")
    assert got.json() == body
    assert got.headers["etag"] == r.headers["etag"]


async def test_create_answers_201_with_absolute_location_etag_and_defaults(client):
    response = await client.post(URL, json={"name": "Iraqi Ministry of Defence"})
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith(JSON)
    body = response.json()
    UUID(body["id"])
    assert response.headers["location"] == f"{BASE_URL}{URL}/{body['id']}"
    assert response.headers["etag"].startswith('"')
    assert body == {
        "id": body["id"],
        "name": "Iraqi Ministry of Defence",
        "kind": "other",
        "url": None,
        "same_as": [],
        "version": 1,
        "created_at": body["created_at"],
        "updated_at": body["created_at"],
    }
    assert body["created_at"].endswith("Z")
    [event] = await history(client, f"{URL}/{body['id']}")
    assert (event["action"], event["version"]) == ("created", 1)


async def test_create_keeps_every_field(client):
    sent = {
        "name": "Reuters",
        "kind": "news_outlet",
        "url": "https://www.reuters.com",
        "same_as": [
            "https://www.wikidata.org/wiki/Q130879",
            "https://en.wikipedia.org/wiki/Reuters",
        ],
    }
    created = await create_organization(client, **sent)
    assert {k: created[k] for k in sent} == sent
    got = await client.get(f"{URL}/{created['id']}")
    assert got.json() == created


async def test_every_kind_of_the_contract_is_accepted(client):
    for kind in KINDS:
        created = await create_organization(client, kind=kind)
        assert created["kind"] == kind


async def test_create_accepts_json_with_a_charset(client):
    response = await client.post(
        URL,
        content=b'{"name": "Agence France-Presse"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


async def test_get_answers_304_to_a_matching_if_none_match(client):
    created = await create_organization(client)
    await assert_conditional_get(client, f"{URL}/{created['id']}")


async def test_get_of_an_unknown_or_malformed_id_is_a_404_problem(client):
    for id in (MISSING_ID, "not-a-uuid", "1234"):
        assert_problem(await client.get(f"{URL}/{id}"), 404)


# ---- lists ----------------------------------------------------------------------------------


async def test_list_is_newest_first_in_pages_of_25_by_default(client):
    created = [(await create_organization(client, name=f"Outlet {i}"))["id"] for i in range(26)]
    first = await client.get(URL)
    assert first.status_code == 200
    page = first.json()
    assert set(page) == {"items", "next_cursor"}
    assert [o["id"] for o in page["items"]] == created[::-1][:25]
    assert page["next_cursor"]
    second = (await client.get(URL, params={"cursor": page["next_cursor"]})).json()
    assert [o["id"] for o in second["items"]] == [created[0]]
    assert second["next_cursor"] is None


async def test_list_items_are_the_full_representation(client):
    created = await create_organization(client, kind="ngo", same_as=["https://example.org/a"])
    [item] = (await client.get(URL)).json()["items"]
    assert item == created


async def test_list_accepts_a_limit_of_100(client):
    for i in range(3):
        await create_organization(client, name=f"Outlet {i}")
    assert len(await list_ids(client, URL, limit=100)) == 3
    assert len(await list_ids(client, URL, limit=2)) == 2


async def test_list_rejects_bad_paging_parameters(client):
    for limit in ("101", "0", "-1", "many", "1.5"):
        assert_problem(await client.get(URL, params={"limit": limit}), 422, field="limit")
    # Garbage, not base64, a history cursor, an object instead of a position.
    for cursor in ("garbage", "!!!", "WzFd", "eyJhIjoxfQ"):
        assert_problem(await client.get(URL, params={"cursor": cursor}), 422, field="cursor")


@pytest.mark.also_behind_pgbouncer
async def test_q_matches_names_typo_tolerantly(client):
    reuters = await create_organization(client, name="Reuters")
    ap = await create_organization(client, name="Associated Press")
    mod = await create_organization(client, name="Iraqi Ministry of Defence")
    assert await list_ids(client, URL, q="Reutres") == [reuters["id"]]
    assert await list_ids(client, URL, q="reuters") == [reuters["id"]]
    assert await list_ids(client, URL, q="Asociated Pres") == [ap["id"]]
    assert await list_ids(client, URL, q="Ministry") == [mod["id"]]
    assert await list_ids(client, URL, q="Zyxwvut") == []


@pytest.mark.also_behind_pgbouncer
async def test_q_ranks_organizations_best_match_first(client):
    # Created best match first, so newest first would list them the other way round.
    exact = await create_organization(client, name="Washington Post")
    whole = await create_organization(client, name="The Washington Post Company")
    prefix = await create_organization(client, name="Washingtonian Posts")
    typo = await create_organization(client, name="Washinton Post")
    unrelated = await create_organization(client, name="Agence France-Presse")
    ids = [exact["id"], whole["id"], prefix["id"], typo["id"]]
    assert await list_ids(client, URL, q="Washington Post") == ids
    assert await list_ids(client, URL, q="post washington") == ids
    assert (await list_ids(client, URL, q="Washingtn Pots"))[0] in {exact["id"], typo["id"]}
    assert unrelated["id"] not in await list_ids(client, URL, q="Washington Post")
    assert await all_ids(client, URL, q="Washington Post", limit=1) == ids


@pytest.mark.also_behind_pgbouncer
async def test_q_pages_organizations_through_ties(client):
    same = [(await create_organization(client, name="Reuters"))["id"] for _ in range(4)]
    others = [(await create_organization(client, name=f"Reuters {i}"))["id"] for i in range(3)]
    full = await list_ids(client, URL, q="reuters", limit=100)
    assert full == [*sorted(same), *others]
    assert await all_ids(client, URL, q="reuters", limit=1) == full
    assert await all_ids(client, URL, q="reuters", limit=3) == full


async def test_q_takes_like_wildcards_literally(client):
    await create_organization(client, name="Reuters")
    pct = await create_organization(client, name="100% News")
    assert await list_ids(client, URL, q="%") == [pct["id"]]
    assert await list_ids(client, URL, q="_") == []


async def test_updated_since_keeps_only_rows_changed_at_or_after_it(client):
    a = await create_organization(client, name="Alpha")
    b = await create_organization(client, name="Beta")
    changed = (await patch(client, f"{URL}/{a['id']}", {"name": "Alpha Media"})).json()
    assert await list_ids(client, URL, updated_since=changed["updated_at"]) == [a["id"]]
    assert set(await list_ids(client, URL, updated_since=b["updated_at"])) == {a["id"], b["id"]}
    assert await list_ids(client, URL, updated_since="2999-01-01T00:00:00Z") == []
    assert_problem(await client.get(URL, params={"updated_since": "yesterday"}), 422)


# ---- patch ------------------------------------------------------------------------------------


async def test_patch_requires_if_match(client, db):
    org = await create_organization(client)
    await assert_rejected(
        client, db, "PATCH", f"{URL}/{org['id']}", status=428, json={"name": "Other"}
    )


async def test_patch_with_a_stale_etag_is_412_and_changes_nothing(client, db):
    org = await create_organization(client)
    url = f"{URL}/{org['id']}"
    stale = await etag_of(client, url)
    assert (await patch(client, url, {"name": "Reuters News"})).status_code == 200
    await assert_rejected(
        client, db, "PATCH", url, status=412, json={"name": "Mine"}, headers={"If-Match": stale}
    )
    assert (await client.get(url)).json()["name"] == "Reuters News"


@pytest.mark.also_behind_pgbouncer
async def test_patch_with_the_current_etag_bumps_the_version_and_the_etag(client):
    org = await create_organization(client)
    url = f"{URL}/{org['id']}"
    etag = await etag_of(client, url)
    response = await client.patch(
        url, json={"name": "Reuters News", "kind": "news_outlet"}, headers={"If-Match": etag}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["kind"], body["version"]) == ("Reuters News", "news_outlet", 2)
    assert body["updated_at"] > body["created_at"] == org["created_at"]
    assert response.headers["etag"] != etag
    got = await client.get(url)
    assert got.json() == body
    assert got.headers["etag"] == response.headers["etag"]
    events = await history(client, url)
    assert [(e["action"], e["version"]) for e in events] == [("created", 1), ("updated", 2)]
    assert events[1]["changed_fields"] == ["kind", "name"]


async def test_patch_with_if_match_star_applies(client):
    org = await create_organization(client)
    response = await client.patch(
        f"{URL}/{org['id']}", json={"url": "https://x.example"}, headers={"If-Match": "*"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2


async def test_patch_with_a_merge_patch_content_type_applies(client):
    org = await create_organization(client)
    url = f"{URL}/{org['id']}"
    response = await client.patch(
        url,
        content=b'{"kind": "company"}',
        headers={
            "If-Match": await etag_of(client, url),
            "Content-Type": "application/merge-patch+json",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["kind"] == "company"


async def test_patch_null_clears_an_optional_field(client):
    org = await create_organization(client, url="https://www.reuters.com")
    response = await patch(client, f"{URL}/{org['id']}", {"url": None})
    assert response.status_code == 200, response.text
    assert (response.json()["url"], response.json()["version"]) == (None, 2)


async def test_patch_replaces_same_as(client):
    org = await create_organization(client, same_as=["https://a.example"])
    body = (await patch(client, f"{URL}/{org['id']}", {"same_as": ["https://b.example"]})).json()
    assert body["same_as"] == ["https://b.example"]
    body = (await patch(client, f"{URL}/{org['id']}", {"same_as": []})).json()
    assert (body["same_as"], body["version"]) == ([], 3)


async def test_patch_that_changes_nothing_keeps_the_version_and_logs_nothing(client, db):
    org = await create_organization(client, name="Reuters", url="https://www.reuters.com")
    url = f"{URL}/{org['id']}"
    etag = await etag_of(client, url)
    before = await snapshot(db)
    for body in ({}, {"name": "Reuters"}, {"kind": "other", "url": "https://www.reuters.com"}):
        response = await client.patch(url, json=body, headers={"If-Match": etag})
        assert response.status_code == 200, response.text
        assert response.json() == org
        assert response.headers["etag"] == etag
    assert await snapshot(db) == before


# ---- delete and history -------------------------------------------------------------------------


async def test_delete_requires_a_current_if_match(client, db):
    org = await create_organization(client)
    url = f"{URL}/{org['id']}"
    await assert_rejected(client, db, "DELETE", url, status=428)
    await assert_rejected(client, db, "DELETE", url, status=412, headers={"If-Match": '"stale"'})
    assert (await client.get(url)).status_code == 200


@pytest.mark.also_behind_pgbouncer
async def test_delete_is_soft_and_leaves_history(client, db):
    org = await create_organization(client, name="Reuters")
    other = await create_organization(client, name="Associated Press")
    url = f"{URL}/{org['id']}"
    assert (await patch(client, url, {"kind": "news_outlet"})).status_code == 200
    etag = await etag_of(client, url)
    response = await client.delete(url, headers={"If-Match": etag})
    assert response.status_code == 204
    assert response.content == b""

    assert_problem(await client.get(url), 404)
    assert_problem(await client.get(url, headers={"If-None-Match": etag}), 404)
    assert await all_ids(client, URL) == [other["id"]]
    assert await list_ids(client, URL, q="Reuters") == []
    events = await history(client, url)
    assert [(e["action"], e["version"]) for e in events] == [
        ("created", 1),
        ("updated", 2),
        ("deleted", 3),
    ]
    assert events[1]["changed_fields"] == ["kind"]
    assert all(e["resource_id"] == org["id"] for e in events)
    # Nothing is erased: the row is still there, marked deleted.
    assert await db.fetchval(
        "SELECT deleted_at IS NOT NULL FROM organizations WHERE id = $1", UUID(org["id"])
    )

    await assert_rejected(
        client, db, "PATCH", url, status=404, json={"name": "X"}, headers={"If-Match": "*"}
    )
    await assert_rejected(client, db, "DELETE", url, status=404, headers={"If-Match": "*"})
    await assert_rejected(client, db, "DELETE", url, status=404, headers={"If-Match": etag})


async def test_history_pages_oldest_first(client):
    org = await create_organization(client)
    url = f"{URL}/{org['id']}"
    for name in ("B", "C"):
        assert (await patch(client, url, {"name": name})).status_code == 200
    first = (await client.get(f"{url}/history", params={"limit": 2})).json()
    assert [e["version"] for e in first["items"]] == [1, 2]
    second = (
        await client.get(f"{url}/history", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [e["version"] for e in second["items"]] == [3]
    assert second["next_cursor"] is None
    times = [e["at"] for e in first["items"] + second["items"]]
    assert times == sorted(times)


async def test_history_of_an_unknown_id_is_404(client):
    assert_problem(await client.get(f"{URL}/{MISSING_ID}/history"), 404)
    # A person's id is not an organization's.
    person = await create_person(client)
    assert_problem(await client.get(f"{URL}/{person['id']}/history"), 404)


async def test_history_rejects_a_bad_limit(client):
    org = await create_organization(client)
    assert_problem(
        await client.get(f"{URL}/{org['id']}/history", params={"limit": 101}), 422, field="limit"
    )


# ---- bad input ----------------------------------------------------------------------------------

# (case, body, the field `errors` must name); each is valid but for one thing.
BAD_BODIES = [
    ("unknown-field", {"name": "R", "bogus": 1}, "bogus"),
    ("read-only-id", {"name": "R", "id": MISSING_ID}, "id"),
    ("read-only-version", {"name": "R", "version": 1}, "version"),
    ("read-only-created_at", {"name": "R", "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
    ("read-only-updated_at", {"name": "R", "updated_at": "2020-01-01T00:00:00Z"}, "updated_at"),
    ("name-number", {"name": 5}, "name"),
    ("name-list", {"name": ["R"]}, "name"),
    ("name-empty", {"name": ""}, "name"),
    ("name-blank", {"name": "   "}, "name"),
    ("name-whitespace", {"name": "\t\n"}, "name"),
    ("name-too-long", {"name": "x" * 501}, "name"),
    ("kind-unknown", {"name": "R", "kind": "bank"}, "kind"),
    ("kind-wrong-case", {"name": "R", "kind": "NEWS_OUTLET"}, "kind"),
    ("kind-number", {"name": "R", "kind": 1}, "kind"),
    ("url-no-scheme", {"name": "R", "url": "www.reuters.com"}, "url"),
    ("url-ftp", {"name": "R", "url": "ftp://reuters.com"}, "url"),
    ("url-javascript", {"name": "R", "url": "javascript:alert(1)"}, "url"),
    ("url-space", {"name": "R", "url": "https://reu ters.com"}, "url"),
    ("url-number", {"name": "R", "url": 5}, "url"),
    ("same_as-item", {"name": "R", "same_as": ["not a url"]}, "same_as[0]"),
    ("same_as-second", {"name": "R", "same_as": ["https://a.example", "b"]}, "same_as[1]"),
    ("same_as-not-list", {"name": "R", "same_as": "https://a.example"}, "same_as"),
    ("same_as-null", {"name": "R", "same_as": None}, "same_as"),
]


async def test_create_rejects_bad_input_and_changes_nothing(client, db):
    await create_organization(client)  # something in the tables to stay untouched
    missing_name = [
        ("empty", {}, "name"),
        ("no-name", {"kind": "news_outlet"}, "name"),
        ("null-name", {"name": None}, "name"),
    ]
    await assert_each_rejected(client, db, "POST", URL, BAD_BODIES + missing_name)


async def test_patch_rejects_bad_input_and_changes_nothing(client, db):
    org = await create_organization(client)
    url = f"{URL}/{org['id']}"
    headers = {"If-Match": await etag_of(client, url)}
    null_required = [(f"null-{f}", {f: None}, f) for f in ("name", "kind", "same_as")]
    await assert_each_rejected(
        client, db, "PATCH", url, BAD_BODIES + null_required, headers=headers
    )


async def test_a_body_that_is_not_a_json_object_is_refused(client, db):
    org = await create_organization(client)
    for method, url in (("POST", URL), ("PATCH", f"{URL}/{org['id']}")):
        headers = {"Content-Type": "application/json", "If-Match": "*"}
        await assert_rejected(
            client, db, method, url, status=400, content=b'{"name": "R",', headers=headers
        )
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
            await assert_rejected(
                client,
                db,
                method,
                url,
                status=415,
                content=b'{"name": "Reuters"}',
                headers={"Content-Type": content_type, "If-Match": "*"},
            )
        for body in (b'[{"name": "R"}]', b'"R"', b"null", b"5"):
            await assert_rejected(
                client, db, method, url, status=422, field="body", content=body, headers=headers
            )
