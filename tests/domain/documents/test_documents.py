"""Documents through HTTP: create, read, list with every filter of the contract
(full-text q, updated_since, tag, issuer_id, kind), patch, delete, history and
refused input, references to organizations and people included."""

from __future__ import annotations

from uuid import UUID

import pytest

from tests.helpers import (
    BASE_URL,
    MISSING_ID,
    SHA256,
    all_ids,
    assert_conditional_get,
    assert_each_rejected,
    assert_problem,
    assert_rejected,
    create_document,
    create_organization,
    create_person,
    delete,
    etag_of,
    history,
    list_ids,
    patch,
    snapshot,
)

pytestmark = pytest.mark.asyncio

URL = "/v1/documents"

KINDS = ["letter", "memo", "report", "order", "email", "transcript", "other"]


# ---- create and read --------------------------------------------------------------------------


async def test_create_answers_201_with_absolute_location_etag_and_defaults(client):
    response = await client.post(URL, json={"title": "Withdrawal letter"})
    assert response.status_code == 201, response.text
    body = response.json()
    UUID(body["id"])
    assert response.headers["location"] == f"{BASE_URL}{URL}/{body['id']}"
    expected = {
        "title": "Withdrawal letter",
        "kind": "other",
        "issuer_id": None,
        "author_id": None,
        "recipient": None,
        "dated_on": None,
        "surfaced_via": None,
        "summary": None,
        "body_text": None,
        "language": "en",
        "sha256": None,
        "appearances": [],
        "tags": [],
        "visibility": "public",
        "version": 1,
        "updated_at": body["created_at"],
    }
    assert {k: body[k] for k in expected} == expected
    got = await client.get(f"{URL}/{body['id']}")
    assert got.json() == body
    assert got.headers["etag"] == response.headers["etag"]
    [event] = await history(client, f"{URL}/{body['id']}")
    assert (event["action"], event["version"], event["resource_type"]) == ("created", 1, "document")


@pytest.mark.also_behind_pgbouncer
async def test_create_keeps_every_field(client):
    issuer = await create_organization(client, name="US Army Task Force Iraq", kind="military")
    outlet = await create_organization(client, name="Reuters", kind="news_outlet")
    author = await create_person(client, name="William H. Seely III")
    sent = {
        "title": "Letter on the repositioning of coalition forces",
        "kind": "letter",
        "issuer_id": issuer["id"],
        "author_id": author["id"],
        "recipient": "Iraqi Ministry of Defense",
        "dated_on": "2020-01-06",
        "surfaced_via": "Photographed and posted on social media",
        "summary": "Announces the repositioning of forces out of Iraq.",
        "body_text": "Sir, in deference to the sovereignty of the Republic of Iraq...",
        "language": "en-US",
        "sha256": SHA256,
        "appearances": [
            {
                "url": "https://www.reuters.com/article/letter",
                "publisher_id": outlet["id"],
                "published_at": "2020-01-06T19:00:00Z",
                "archived_url": "https://web.archive.org/web/2020/https://www.reuters.com/article/letter",
            },
            {
                "url": "https://twitter.com/x/status/1",
                "publisher_id": None,
                "published_at": None,
                "archived_url": None,
            },
        ],
        "tags": ["iraq", "withdrawal"],
        "visibility": "internal",
    }
    created = await create_document(client, **sent)
    assert {k: created[k] for k in sent} == sent
    assert (await client.get(f"{URL}/{created['id']}")).json() == created


async def test_every_kind_of_the_contract_is_accepted(client):
    for kind in KINDS:
        assert (await create_document(client, kind=kind))["kind"] == kind


async def test_appearance_times_are_served_in_utc(client):
    doc = await create_document(
        client,
        appearances=[{"url": "https://a.example/x", "published_at": "2020-01-06T21:00:00+02:00"}],
    )
    assert doc["appearances"][0]["published_at"] == "2020-01-06T19:00:00Z"


async def test_get_answers_304_to_a_matching_if_none_match(client):
    doc = await create_document(client)
    await assert_conditional_get(client, f"{URL}/{doc['id']}")


async def test_get_of_an_unknown_or_malformed_id_is_a_404_problem(client):
    for id in (MISSING_ID, "not-a-uuid"):
        assert_problem(await client.get(f"{URL}/{id}"), 404)


# ---- lists and filters -------------------------------------------------------------------------


async def test_list_is_newest_first_in_pages_of_25_by_default(client):
    created = [(await create_document(client, title=f"Memo {i}"))["id"] for i in range(26)]
    page = (await client.get(URL)).json()
    assert [d["id"] for d in page["items"]] == created[::-1][:25]
    rest = (await client.get(URL, params={"cursor": page["next_cursor"]})).json()
    assert ([d["id"] for d in rest["items"]], rest["next_cursor"]) == ([created[0]], None)
    assert len(await list_ids(client, URL, limit=100)) == 26


async def test_list_rejects_bad_paging_and_filter_parameters(client):
    for limit in ("101", "0"):
        assert_problem(await client.get(URL, params={"limit": limit}), 422, field="limit")
    assert_problem(await client.get(URL, params={"cursor": "nope"}), 422, field="cursor")
    assert_problem(await client.get(URL, params={"issuer_id": "nope"}), 422, field="issuer_id")
    assert_problem(await client.get(URL, params={"kind": "novel"}), 422, field="kind")
    assert_problem(
        await client.get(URL, params={"updated_since": "2020-01-01"}), 422, field="updated_since"
    )


async def test_q_is_full_text_with_web_search_syntax(client):
    letter = await create_document(
        client,
        title="Withdrawal letter",
        summary="The coalition forces will be repositioned.",
    )
    memo = await create_document(
        client, title="Rotation memo", body_text="Forces will rotate through Kuwait."
    )
    report = await create_document(client, title="Budget report", summary="Spending on bases.")

    async def q(text):
        return set(await list_ids(client, URL, q=text))

    assert await q("forces") == {letter["id"], memo["id"]}
    assert await q("withdrawals") == {letter["id"]}  # stemmed
    assert await q("forces -coalition") == {memo["id"]}
    assert await q('"coalition forces"') == {letter["id"]}
    assert await q('"forces coalition"') == set()
    assert await q("kuwait or spending") == {memo["id"], report["id"]}
    assert await q("kuwait spending") == set()
    assert await q("the") == set()  # only a stop word
    assert await q('"unclosed') == set()  # never a syntax error


async def test_filters_by_issuer_kind_tag_and_updated_since(client):
    army = await create_organization(client, name="US Army")
    state = await create_organization(client, name="State Department")
    a = await create_document(client, kind="letter", issuer_id=army["id"], tags=["iraq", "leak"])
    b = await create_document(client, kind="memo", issuer_id=army["id"], tags=["iraq"])
    c = await create_document(client, kind="letter", issuer_id=state["id"], tags=["iraq-war"])

    async def ids(**params):
        return set(await list_ids(client, URL, **params))

    assert await ids(issuer_id=army["id"]) == {a["id"], b["id"]}
    assert await ids(issuer_id=MISSING_ID) == set()
    assert await ids(kind="letter") == {a["id"], c["id"]}
    assert await ids(kind="report") == set()
    assert await ids(tag="iraq") == {a["id"], b["id"]}  # exact tags, not prefixes
    assert await ids(tag="leak") == {a["id"]}
    assert await ids(issuer_id=army["id"], kind="letter", tag="iraq") == {a["id"]}
    changed = (await patch(client, f"{URL}/{b['id']}", {"summary": "Now summarised."})).json()
    assert await ids(updated_since=changed["updated_at"]) == {b["id"]}
    assert await ids(updated_since=a["created_at"]) == {a["id"], b["id"], c["id"]}


async def test_a_filtered_list_pages_with_its_cursor(client):
    army = await create_organization(client)
    mine = [(await create_document(client, issuer_id=army["id"]))["id"] for _ in range(5)]
    for _ in range(3):
        await create_document(client)
    assert await all_ids(client, URL, issuer_id=army["id"], limit=2) == mine[::-1]


# ---- patch ------------------------------------------------------------------------------------


async def test_patch_preconditions(client, db):
    doc = await create_document(client)
    url = f"{URL}/{doc['id']}"
    stale = await etag_of(client, url)
    await assert_rejected(client, db, "PATCH", url, status=428, json={"kind": "memo"})
    ok = await client.patch(url, json={"kind": "memo"}, headers={"If-Match": stale})
    assert ok.status_code == 200, ok.text
    assert (ok.json()["kind"], ok.json()["version"]) == ("memo", 2)
    assert ok.headers["etag"] != stale
    assert (await client.get(url)).headers["etag"] == ok.headers["etag"]
    await assert_rejected(
        client, db, "PATCH", url, status=412, json={"kind": "email"}, headers={"If-Match": stale}
    )


async def test_patch_null_clears_optional_fields(client):
    org = await create_organization(client)
    author = await create_person(client)
    doc = await create_document(
        client,
        issuer_id=org["id"],
        author_id=author["id"],
        summary="s",
        sha256=SHA256,
        dated_on="2020-01-06",
    )
    nulls = {f: None for f in ("issuer_id", "author_id", "summary", "sha256", "dated_on")}
    body = (await patch(client, f"{URL}/{doc['id']}", nulls)).json()
    assert {f: body[f] for f in nulls} == nulls
    assert body["version"] == 2
    [_, event] = await history(client, f"{URL}/{doc['id']}")
    assert event["changed_fields"] == sorted(nulls)


@pytest.mark.also_behind_pgbouncer
async def test_patch_replaces_appearances_and_tags(client):
    doc = await create_document(
        client,
        tags=["a"],
        appearances=[{"url": "https://a.example/1"}, {"url": "https://a.example/2"}],
    )
    url = f"{URL}/{doc['id']}"
    new = [
        {
            "url": "https://b.example/1",
            "publisher_id": None,
            "published_at": None,
            "archived_url": None,
        }
    ]
    body = (await patch(client, url, {"appearances": new, "tags": ["b", "c"]})).json()
    assert (body["appearances"], body["tags"], body["version"]) == (new, ["b", "c"], 2)
    body = (await patch(client, url, {"appearances": []})).json()
    assert (body["appearances"], body["version"]) == ([], 3)


async def test_patch_that_changes_nothing_keeps_the_version_and_logs_nothing(client, db):
    doc = await create_document(
        client, kind="memo", tags=["x"], appearances=[{"url": "https://a.example/1"}]
    )
    url = f"{URL}/{doc['id']}"
    etag = await etag_of(client, url)
    before = await snapshot(db)
    for body in (
        {},
        {"kind": "memo", "tags": ["x"]},
        {"appearances": doc["appearances"], "title": doc["title"]},
    ):
        response = await client.patch(url, json=body, headers={"If-Match": etag})
        assert response.status_code == 200, response.text
        assert response.json() == doc
        assert response.headers["etag"] == etag
    assert await snapshot(db) == before


# ---- delete and history -------------------------------------------------------------------------


async def test_delete_lifecycle(client, db):
    doc = await create_document(client, tags=["leak"], appearances=[{"url": "https://a.example"}])
    other = await create_document(client, tags=["leak"])
    url = f"{URL}/{doc['id']}"
    await assert_rejected(client, db, "DELETE", url, status=428)
    await assert_rejected(client, db, "DELETE", url, status=412, headers={"If-Match": '"old"'})
    assert (await patch(client, url, {"title": "Renamed"})).status_code == 200
    etag = await etag_of(client, url)
    assert (await client.delete(url, headers={"If-Match": etag})).status_code == 204

    assert_problem(await client.get(url), 404)
    assert await all_ids(client, URL) == [other["id"]]
    assert await list_ids(client, URL, tag="leak") == [other["id"]]
    assert await list_ids(client, URL, q="renamed") == []
    events = await history(client, url)
    assert [(e["action"], e["version"]) for e in events] == [
        ("created", 1),
        ("updated", 2),
        ("deleted", 3),
    ]
    assert events[1]["changed_fields"] == ["title"]
    await assert_rejected(
        client, db, "PATCH", url, status=404, json={"title": "X"}, headers={"If-Match": etag}
    )
    await assert_rejected(client, db, "DELETE", url, status=404, headers={"If-Match": "*"})


async def test_history_of_an_unknown_id_is_404(client):
    assert_problem(await client.get(f"{URL}/{MISSING_ID}/history"), 404)


# ---- bad input ----------------------------------------------------------------------------------


def bad_bodies(ids: dict[str, str]) -> list[tuple[str, dict, str]]:
    """(case, body, the field `errors` must name); each is valid but for one thing.
    `ids` holds a live `org`, a live `person`, a `deleted_org` and a `deleted_person`."""
    t = {"title": "T"}

    def appearing(**fields):
        return {**t, "appearances": [{"url": "https://a.example", **fields}]}

    return [
        ("unknown-field", {**t, "author": "x"}, "author"),
        ("read-only-id", {**t, "id": MISSING_ID}, "id"),
        ("read-only-version", {**t, "version": 1}, "version"),
        ("read-only-created_at", {**t, "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ("read-only-updated_at", {**t, "updated_at": "2020-01-01T00:00:00Z"}, "updated_at"),
        ("read-only-verification", {**t, "verification": {}}, "verification"),
        ("title-number", {"title": 5}, "title"),
        ("title-empty", {"title": ""}, "title"),
        ("title-blank", {"title": "  "}, "title"),
        ("kind-unknown", {**t, "kind": "novel"}, "kind"),
        ("kind-null", {**t, "kind": None}, "kind"),
        ("visibility-unknown", {**t, "visibility": "secret"}, "visibility"),
        ("visibility-null", {**t, "visibility": None}, "visibility"),
        ("language-not-bcp47", {**t, "language": "english!"}, "language"),
        ("language-null", {**t, "language": None}, "language"),
        ("sha256-upper", {**t, "sha256": SHA256.upper()}, "sha256"),
        ("sha256-short", {**t, "sha256": SHA256[:-1]}, "sha256"),
        ("sha256-long", {**t, "sha256": SHA256 + "0"}, "sha256"),
        ("sha256-not-hex", {**t, "sha256": "g" * 64}, "sha256"),
        ("sha256-prefixed", {**t, "sha256": "sha256:" + SHA256[7:]}, "sha256"),
        ("dated_on-bad", {**t, "dated_on": "06/01/2020"}, "dated_on"),
        ("dated_on-impossible", {**t, "dated_on": "2020-02-30"}, "dated_on"),
        ("tags-not-list", {**t, "tags": "iraq"}, "tags"),
        ("tags-comma", {**t, "tags": ["iraq,leak"]}, "tags[0]"),
        ("tags-empty", {**t, "tags": [""]}, "tags[0]"),
        ("issuer-bad-uuid", {**t, "issuer_id": "army"}, "issuer_id"),
        ("issuer-missing", {**t, "issuer_id": MISSING_ID}, "issuer_id"),
        ("issuer-deleted", {**t, "issuer_id": ids["deleted_org"]}, "issuer_id"),
        ("issuer-is-a-person", {**t, "issuer_id": ids["person"]}, "issuer_id"),
        ("author-missing", {**t, "author_id": MISSING_ID}, "author_id"),
        ("author-deleted", {**t, "author_id": ids["deleted_person"]}, "author_id"),
        ("author-is-an-organization", {**t, "author_id": ids["org"]}, "author_id"),
        ("appearances-not-list", {**t, "appearances": {"url": "https://a.example"}}, "appearances"),
        ("appearance-no-url", {**t, "appearances": [{}]}, "appearances[0].url"),
        ("appearance-bad-url", appearing(url="a.example/page"), "appearances[0].url"),
        (
            "appearance-bad-archived",
            appearing(archived_url="archive"),
            "appearances[0].archived_url",
        ),
        ("appearance-bad-time", appearing(published_at="yesterday"), "appearances[0].published_at"),
        (
            "appearance-time-no-offset",
            appearing(published_at="2020-01-06T19:00:00"),
            "appearances[0].published_at",
        ),
        ("appearance-unknown-field", appearing(outlet="x"), "appearances[0].outlet"),
        (
            "appearance-publisher-missing",
            appearing(publisher_id=MISSING_ID),
            "appearances[0].publisher_id",
        ),
        (
            "appearance-publisher-deleted",
            {
                **t,
                "appearances": [
                    {"url": "https://a.example", "publisher_id": ids["org"]},
                    {"url": "https://b.example", "publisher_id": ids["deleted_org"]},
                ],
            },
            "appearances[1].publisher_id",
        ),
    ]


async def references(client) -> dict[str, str]:
    org = await create_organization(client, name="Live")
    person = await create_person(client, name="Live")
    deleted_org = await create_organization(client, name="Gone")
    deleted_person = await create_person(client, name="Gone")
    await delete(client, f"/v1/organizations/{deleted_org['id']}")
    await delete(client, f"/v1/people/{deleted_person['id']}")
    return {
        "org": org["id"],
        "person": person["id"],
        "deleted_org": deleted_org["id"],
        "deleted_person": deleted_person["id"],
    }


async def test_create_rejects_bad_input_and_changes_nothing(client, db):
    ids = await references(client)
    await create_document(client)
    cases = [*bad_bodies(ids), ("no-title", {"kind": "memo"}, "title")]
    await assert_each_rejected(client, db, "POST", URL, cases)


async def test_patch_rejects_bad_input_and_changes_nothing(client, db):
    ids = await references(client)
    doc = await create_document(client, issuer_id=ids["org"])
    url = f"{URL}/{doc['id']}"
    headers = {"If-Match": await etag_of(client, url)}
    nulls = [(f"null-{f}", {f: None}, f) for f in ("title", "appearances", "tags")]
    await assert_each_rejected(client, db, "PATCH", url, bad_bodies(ids) + nulls, headers=headers)


async def test_a_body_that_is_not_json_is_refused(client, db):
    doc = await create_document(client)
    for method, url in (("POST", URL), ("PATCH", f"{URL}/{doc['id']}")):
        await assert_rejected(
            client,
            db,
            method,
            url,
            status=400,
            content=b'{"title": "T"',
            headers={"Content-Type": "application/json", "If-Match": "*"},
        )
        await assert_rejected(
            client,
            db,
            method,
            url,
            status=415,
            content=b'{"title": "T"}',
            headers={"Content-Type": "text/csv", "If-Match": "*"},
        )
