"""Statements through HTTP: create, read, list with every filter of the contract
(full-text q, updated_since, tag, speaker_id, said_after, said_before), patch, delete,
history and refused input, references to people and organizations included."""

from __future__ import annotations

import time
from uuid import UUID

import pytest

from tests.helpers import (
    BASE_URL,
    MISSING_ID,
    all_ids,
    assert_conditional_get,
    assert_each_rejected,
    assert_problem,
    assert_rejected,
    create_organization,
    create_person,
    create_statement,
    delete,
    etag_of,
    history,
    list_ids,
    patch,
    snapshot,
)

pytestmark = pytest.mark.asyncio

URL = "/v1/statements"

MEDIA = [
    "press_briefing",
    "interview",
    "social_media",
    "written_statement",
    "speech",
    "testimony",
    "other",
]


# ---- create and read --------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_create_answers_201_with_absolute_location_etag_and_defaults(client):
    speaker = await create_person(client)
    response = await client.post(
        URL, json={"speaker_id": speaker["id"], "text": "There has been no decision."}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    UUID(body["id"])
    assert response.headers["location"] == f"{BASE_URL}{URL}/{body['id']}"
    expected = {
        "speaker_id": speaker["id"],
        "text": "There has been no decision.",
        "said_at": None,
        "medium": "other",
        "context": None,
        "language": "en",
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
    assert (event["action"], event["version"], event["resource_type"]) == (
        "created",
        1,
        "statement",
    )


@pytest.mark.also_behind_pgbouncer
async def test_create_keeps_every_field_and_serves_times_in_utc(client):
    speaker = await create_person(client)
    pentagon = await create_organization(client, name="Pentagon press office")
    sent = {
        "speaker_id": speaker["id"],
        "text": "There's been no decision whatsoever by the United States to leave Iraq.",
        "medium": "press_briefing",
        "context": "Asked about the letter at the Pentagon.",
        "language": "en-US",
        "appearances": [
            {
                "url": "https://www.defense.gov/transcript",
                "publisher_id": pentagon["id"],
                "published_at": "2020-01-06T23:00:00Z",
                "archived_url": None,
            }
        ],
        "tags": ["iraq"],
        "visibility": "internal",
    }
    created = await create_statement(client, said_at="2020-01-06T18:30:00-05:00", **sent)
    assert {k: created[k] for k in sent} == sent
    assert created["said_at"] == "2020-01-06T23:30:00Z"
    assert (await client.get(f"{URL}/{created['id']}")).json() == created


async def test_every_medium_of_the_contract_is_accepted(client):
    speaker = await create_person(client)
    for medium in MEDIA:
        created = await create_statement(client, speaker_id=speaker["id"], medium=medium)
        assert created["medium"] == medium


async def test_get_answers_304_to_a_matching_if_none_match(client):
    statement = await create_statement(client)
    await assert_conditional_get(client, f"{URL}/{statement['id']}")


async def test_get_of_an_unknown_or_malformed_id_is_a_404_problem(client):
    for id in (MISSING_ID, "not-a-uuid"):
        assert_problem(await client.get(f"{URL}/{id}"), 404)


# ---- lists and filters -------------------------------------------------------------------------


async def test_list_is_newest_first_in_pages_of_25_by_default(client):
    speaker = await create_person(client)
    created = [
        (await create_statement(client, speaker_id=speaker["id"], text=f"Quote {i}"))["id"]
        for i in range(26)
    ]
    page = (await client.get(URL)).json()
    assert [s["id"] for s in page["items"]] == created[::-1][:25]
    rest = (await client.get(URL, params={"cursor": page["next_cursor"]})).json()
    assert ([s["id"] for s in rest["items"]], rest["next_cursor"]) == ([created[0]], None)
    assert len(await list_ids(client, URL, limit=100)) == 26


async def test_list_rejects_bad_paging_and_filter_parameters(client):
    for limit in ("101", "0"):
        assert_problem(await client.get(URL, params={"limit": limit}), 422, field="limit")
    for name, value in (
        ("cursor", "nope"),
        ("speaker_id", "esper"),
        ("said_after", "yesterday"),
        ("said_before", "2020-13-01T00:00:00Z"),
        ("updated_since", "now"),
    ):
        assert_problem(await client.get(URL, params={name: value}), 422, field=name)


async def test_q_is_full_text_with_web_search_syntax(client):
    speaker = await create_person(client)
    denial = await create_statement(
        client,
        speaker_id=speaker["id"],
        text="There has been no decision whatsoever to leave Iraq.",
    )
    confirm = await create_statement(
        client,
        speaker_id=speaker["id"],
        text="The letter is genuine.",
        context="Said about the decision letter.",
    )

    async def q(text):
        return set(await list_ids(client, URL, q=text))

    assert await q("decision") == {denial["id"], confirm["id"]}  # text and context
    assert await q("decisions") == {denial["id"], confirm["id"]}  # stemmed
    assert await q("decision -letter") == {denial["id"]}
    assert await q('"leave Iraq"') == {denial["id"]}
    assert await q('"Iraq leave"') == set()
    assert await q("genuine or whatsoever") == {denial["id"], confirm["id"]}
    assert await q("genuine whatsoever") == set()


@pytest.mark.also_behind_pgbouncer
async def test_filters_by_speaker_said_at_tag_and_updated_since(client):
    esper = await create_person(client, name="Mark Esper")
    milley = await create_person(client, name="Mark Milley")
    a = await create_statement(
        client, speaker_id=esper["id"], said_at="2020-01-06T12:00:00Z", tags=["iraq", "denial"]
    )
    b = await create_statement(
        client, speaker_id=milley["id"], said_at="2020-01-07T12:00:00Z", tags=["iraq"]
    )
    c = await create_statement(client, speaker_id=esper["id"], said_at="2020-01-08T12:00:00Z")
    undated = await create_statement(client, speaker_id=esper["id"])

    async def ids(**params):
        return set(await list_ids(client, URL, **params))

    assert await ids(speaker_id=esper["id"]) == {a["id"], c["id"], undated["id"]}
    assert await ids(speaker_id=MISSING_ID) == set()
    assert await ids(said_after="2020-01-06T18:00:00Z") == {b["id"], c["id"]}
    assert await ids(said_before="2020-01-07T18:00:00Z") == {a["id"], b["id"]}
    assert await ids(said_after="2020-01-06T18:00:00Z", said_before="2020-01-07T18:00:00Z") == {
        b["id"]
    }
    # An offset is honoured: 14:00+02:00 is 12:00Z, after a (12:00Z) is strictly later.
    assert await ids(said_after="2020-01-07T13:00:00+02:00") == {b["id"], c["id"]}
    assert await ids(said_after="2020-01-08T12:00:00Z") == set()
    assert await ids(tag="iraq") == {a["id"], b["id"]}
    assert await ids(tag="denial", speaker_id=esper["id"]) == {a["id"]}
    assert await ids(tag="denial", speaker_id=milley["id"]) == set()
    changed = (await patch(client, f"{URL}/{c['id']}", {"context": "Later."})).json()
    assert await ids(updated_since=changed["updated_at"]) == {c["id"]}


@pytest.fixture
def new_york_time(monkeypatch):
    """Run the service in a local time zone that is not UTC."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def test_times_never_depend_on_the_servers_time_zone(client, db, new_york_time):
    said = await create_statement(client, said_at="2020-01-06T12:00:00Z")
    assert said["said_at"] == "2020-01-06T12:00:00Z"
    # Filter times carry their offset, and mean that instant wherever the server is.
    assert await list_ids(client, URL, said_after="2020-01-06T06:30:00-05:00") == [said["id"]]
    assert await list_ids(client, URL, said_before="2020-01-06T12:30:00Z") == [said["id"]]
    assert await list_ids(client, URL, said_after="2020-01-06T12:30:00+00:00") == []
    # A filter time without an offset is as ambiguous as a body one, and refused.
    naive = await client.get(URL, params={"said_after": "2020-01-06T11:30:00"})
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "said_after"
    # A body time without an offset is ambiguous, and refused.
    await assert_rejected(
        client,
        db,
        "POST",
        URL,
        field="said_at",
        json={"speaker_id": said["speaker_id"], "text": "Q", "said_at": "2020-01-06T12:00:00"},
    )


async def test_a_filtered_list_pages_with_its_cursor(client):
    esper = await create_person(client)
    mine = [(await create_statement(client, speaker_id=esper["id"]))["id"] for _ in range(5)]
    for _ in range(2):
        await create_statement(client)
    assert await all_ids(client, URL, speaker_id=esper["id"], limit=2) == mine[::-1]


# ---- patch ------------------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_patch_preconditions(client, db):
    statement = await create_statement(client)
    url = f"{URL}/{statement['id']}"
    stale = await etag_of(client, url)
    await assert_rejected(client, db, "PATCH", url, status=428, json={"medium": "speech"})
    ok = await client.patch(url, json={"medium": "speech"}, headers={"If-Match": stale})
    assert ok.status_code == 200, ok.text
    assert (ok.json()["medium"], ok.json()["version"]) == ("speech", 2)
    assert ok.headers["etag"] != stale
    await assert_rejected(
        client, db, "PATCH", url, status=412, json={"medium": "other"}, headers={"If-Match": stale}
    )
    assert (await client.get(url)).json()["medium"] == "speech"


async def test_patch_changes_the_speaker_and_clears_optional_fields(client):
    statement = await create_statement(
        client, said_at="2020-01-06T12:00:00Z", context="At the Pentagon."
    )
    other = await create_person(client, name="Mark Milley")
    url = f"{URL}/{statement['id']}"
    body = (
        await patch(client, url, {"speaker_id": other["id"], "said_at": None, "context": None})
    ).json()
    assert (body["speaker_id"], body["said_at"], body["context"]) == (other["id"], None, None)
    assert body["version"] == 2
    [_, event] = await history(client, url)
    assert event["changed_fields"] == ["context", "said_at", "speaker_id"]


async def test_patch_that_changes_nothing_keeps_the_version_and_logs_nothing(client, db):
    statement = await create_statement(
        client, said_at="2020-01-06T12:00:00Z", appearances=[{"url": "https://a.example"}]
    )
    url = f"{URL}/{statement['id']}"
    etag = await etag_of(client, url)
    before = await snapshot(db)
    for body in (
        {},
        {"text": statement["text"], "medium": "other"},
        # The same instant written with another offset is no change.
        {"said_at": "2020-01-06T14:00:00+02:00", "appearances": statement["appearances"]},
    ):
        response = await client.patch(url, json=body, headers={"If-Match": etag})
        assert response.status_code == 200, response.text
        assert response.json() == statement
        assert response.headers["etag"] == etag
    assert await snapshot(db) == before


# ---- delete and history -------------------------------------------------------------------------


@pytest.mark.also_behind_pgbouncer
async def test_delete_lifecycle(client, db):
    speaker = await create_person(client)
    statement = await create_statement(client, speaker_id=speaker["id"], tags=["iraq"])
    other = await create_statement(client, speaker_id=speaker["id"], tags=["iraq"])
    url = f"{URL}/{statement['id']}"
    await assert_rejected(client, db, "DELETE", url, status=428)
    await assert_rejected(client, db, "DELETE", url, status=412, headers={"If-Match": '"old"'})
    assert (await patch(client, url, {"text": "No decision has been made."})).status_code == 200
    etag = await etag_of(client, url)
    assert (await client.delete(url, headers={"If-Match": etag})).status_code == 204

    assert_problem(await client.get(url), 404)
    assert await all_ids(client, URL) == [other["id"]]
    assert await list_ids(client, URL, speaker_id=speaker["id"]) == [other["id"]]
    assert await list_ids(client, URL, tag="iraq") == [other["id"]]
    events = await history(client, url)
    assert [(e["action"], e["version"]) for e in events] == [
        ("created", 1),
        ("updated", 2),
        ("deleted", 3),
    ]
    assert events[1]["changed_fields"] == ["text"]
    await assert_rejected(
        client, db, "PATCH", url, status=404, json={"text": "X"}, headers={"If-Match": etag}
    )
    await assert_rejected(client, db, "DELETE", url, status=404, headers={"If-Match": "*"})


async def test_history_of_an_unknown_id_is_404(client):
    assert_problem(await client.get(f"{URL}/{MISSING_ID}/history"), 404)


# ---- bad input ----------------------------------------------------------------------------------


def bad_bodies(ids: dict[str, str]) -> list[tuple[str, dict, str]]:
    """(case, body, the field `errors` must name); each is valid but for one thing.
    `ids` holds a live `person` and `org`, a `deleted_person` and a `deleted_org`."""
    s = {"speaker_id": ids["person"], "text": "Quote."}

    def appearing(**fields):
        return {**s, "appearances": [{"url": "https://a.example", **fields}]}

    return [
        ("unknown-field", {**s, "speaker": "Esper"}, "speaker"),
        ("read-only-id", {**s, "id": MISSING_ID}, "id"),
        ("read-only-version", {**s, "version": 1}, "version"),
        ("read-only-created_at", {**s, "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ("read-only-updated_at", {**s, "updated_at": "2020-01-01T00:00:00Z"}, "updated_at"),
        ("read-only-verification", {**s, "verification": None}, "verification"),
        ("text-number", {**s, "text": 5}, "text"),
        ("text-empty", {**s, "text": ""}, "text"),
        ("text-blank", {**s, "text": " \n "}, "text"),
        ("said_at-words", {**s, "said_at": "yesterday"}, "said_at"),
        ("said_at-date-only", {**s, "said_at": "2020-01-06"}, "said_at"),
        ("said_at-no-offset", {**s, "said_at": "2020-01-06T12:00:00"}, "said_at"),
        ("said_at-number", {**s, "said_at": 1578268800}, "said_at"),
        ("medium-unknown", {**s, "medium": "podcast"}, "medium"),
        ("medium-null", {**s, "medium": None}, "medium"),
        ("visibility-unknown", {**s, "visibility": "private"}, "visibility"),
        ("language-bad", {**s, "language": "e"}, "language"),
        ("tags-not-strings", {**s, "tags": [1]}, "tags[0]"),
        ("speaker-bad-uuid", {**s, "speaker_id": "esper"}, "speaker_id"),
        ("speaker-missing", {**s, "speaker_id": MISSING_ID}, "speaker_id"),
        ("speaker-deleted", {**s, "speaker_id": ids["deleted_person"]}, "speaker_id"),
        ("speaker-is-an-organization", {**s, "speaker_id": ids["org"]}, "speaker_id"),
        ("appearance-bad-url", appearing(url="not a url"), "appearances[0].url"),
        (
            "appearance-bad-archived",
            appearing(archived_url="ftp://x"),
            "appearances[0].archived_url",
        ),
        ("appearance-bad-time", appearing(published_at="soon"), "appearances[0].published_at"),
        (
            "appearance-time-no-offset",
            appearing(published_at="2020-01-06T12:00:00"),
            "appearances[0].published_at",
        ),
        (
            "appearance-publisher-missing",
            appearing(publisher_id=MISSING_ID),
            "appearances[0].publisher_id",
        ),
        (
            "appearance-publisher-deleted",
            appearing(publisher_id=ids["deleted_org"]),
            "appearances[0].publisher_id",
        ),
        (
            "appearance-publisher-is-a-person",
            appearing(publisher_id=ids["person"]),
            "appearances[0].publisher_id",
        ),
    ]


async def references(client) -> dict[str, str]:
    person = await create_person(client, name="Live")
    org = await create_organization(client, name="Live")
    deleted_person = await create_person(client, name="Gone")
    deleted_org = await create_organization(client, name="Gone")
    await delete(client, f"/v1/people/{deleted_person['id']}")
    await delete(client, f"/v1/organizations/{deleted_org['id']}")
    return {
        "person": person["id"],
        "org": org["id"],
        "deleted_person": deleted_person["id"],
        "deleted_org": deleted_org["id"],
    }


async def test_create_rejects_bad_input_and_changes_nothing(client, db):
    ids = await references(client)
    await create_statement(client, speaker_id=ids["person"])
    cases = [
        *bad_bodies(ids),
        ("no-speaker", {"text": "Quote."}, "speaker_id"),
        ("no-text", {"speaker_id": ids["person"]}, "text"),
        ("null-text", {"speaker_id": ids["person"], "text": None}, "text"),
    ]
    await assert_each_rejected(client, db, "POST", URL, cases)


async def test_patch_rejects_bad_input_and_changes_nothing(client, db):
    ids = await references(client)
    statement = await create_statement(client, speaker_id=ids["person"])
    url = f"{URL}/{statement['id']}"
    headers = {"If-Match": await etag_of(client, url)}
    nulls = [(f"null-{f}", {f: None}, f) for f in ("speaker_id", "text", "language", "tags")]
    await assert_each_rejected(client, db, "PATCH", url, bad_bodies(ids) + nulls, headers=headers)


async def test_a_body_that_is_not_json_is_refused(client, db):
    statement = await create_statement(client)
    for method, url in (("POST", URL), ("PATCH", f"{URL}/{statement['id']}")):
        await assert_rejected(
            client,
            db,
            method,
            url,
            status=400,
            content=b'{"text": "unterminated}',
            headers={"Content-Type": "application/json", "If-Match": "*"},
        )
        await assert_rejected(
            client,
            db,
            method,
            url,
            status=415,
            content=b'{"text": "Quote."}',
            headers={"Content-Type": "multipart/form-data; boundary=x", "If-Match": "*"},
        )
