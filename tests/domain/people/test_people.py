"""People through HTTP: create, read, list and filter (typo-tolerant on names and
aliases), patch (affiliations included), delete, history and refused input."""

from __future__ import annotations

from uuid import UUID

import pytest

from service.commands import example
from service.commands.example import example_id
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
    delete,
    etag_of,
    history,
    list_ids,
    patch,
    snapshot,
)

pytestmark = pytest.mark.asyncio

URL = "/v1/people"


# ---- create and read --------------------------------------------------------------------------


async def test_create_answers_201_with_absolute_location_etag_and_defaults(client):
    response = await client.post(URL, json={"name": "Mark Esper"})
    assert response.status_code == 201, response.text
    body = response.json()
    UUID(body["id"])
    assert response.headers["location"] == f"{BASE_URL}{URL}/{body['id']}"
    assert body == {
        "id": body["id"],
        "name": "Mark Esper",
        "aliases": [],
        "description": None,
        "same_as": [],
        "affiliations": [],
        "version": 1,
        "created_at": body["created_at"],
        "updated_at": body["created_at"],
    }
    got = await client.get(f"{URL}/{body['id']}")
    assert got.json() == body
    assert got.headers["etag"] == response.headers["etag"]
    [event] = await history(client, f"{URL}/{body['id']}")
    assert (event["action"], event["version"], event["resource_type"]) == ("created", 1, "person")


async def test_create_keeps_every_field_and_the_order_of_affiliations(client):
    pentagon = await create_organization(client, name="Department of Defense", kind="government")
    army = await create_organization(client, name="US Army", kind="military")
    sent = {
        "name": "Mark Esper",
        "aliases": ["Mark Thomas Esper", "Secretary Esper"],
        "description": "US Secretary of Defense, 2019-2020.",
        "same_as": ["https://www.wikidata.org/wiki/Q21176399"],
        "affiliations": [
            {
                "organization_id": pentagon["id"],
                "title": "Secretary of Defense",
                "start_on": "2019-07-23",
                "end_on": "2020-11-09",
            },
            {
                "organization_id": army["id"],
                "title": "Secretary of the Army",
                "start_on": "2017-11-20",
                "end_on": None,
            },
            {"organization_id": army["id"], "title": None, "start_on": None, "end_on": None},
        ],
    }
    created = await create_person(client, **sent)
    assert {k: created[k] for k in sent} == sent
    assert (await client.get(f"{URL}/{created['id']}")).json() == created


async def test_an_affiliation_may_start_and_end_on_the_same_day(client):
    org = await create_organization(client)
    day = {"organization_id": org["id"], "start_on": "2020-01-03", "end_on": "2020-01-03"}
    created = await create_person(client, affiliations=[day])
    assert created["affiliations"][0]["end_on"] == "2020-01-03"


async def test_get_answers_304_to_a_matching_if_none_match(client):
    person = await create_person(client)
    await assert_conditional_get(client, f"{URL}/{person['id']}")


async def test_get_of_an_unknown_or_malformed_id_is_a_404_problem(client):
    for id in (MISSING_ID, "not-a-uuid"):
        assert_problem(await client.get(f"{URL}/{id}"), 404)
    org = await create_organization(client)  # an organization's id is not a person's
    assert_problem(await client.get(f"{URL}/{org['id']}"), 404)


# ---- lists ----------------------------------------------------------------------------------


async def test_list_is_newest_first_in_pages_of_25_by_default(client):
    created = [(await create_person(client, name=f"Person {i}"))["id"] for i in range(26)]
    page = (await client.get(URL)).json()
    assert [p["id"] for p in page["items"]] == created[::-1][:25]
    rest = (await client.get(URL, params={"cursor": page["next_cursor"]})).json()
    assert ([p["id"] for p in rest["items"]], rest["next_cursor"]) == ([created[0]], None)
    assert len(await list_ids(client, URL, limit=100)) == 26


async def test_list_rejects_bad_paging_parameters(client):
    for limit in ("101", "0", "abc"):
        assert_problem(await client.get(URL, params={"limit": limit}), 422, field="limit")
    for cursor in ("garbage", "WzFd"):
        assert_problem(await client.get(URL, params={"cursor": cursor}), 422, field="cursor")


@pytest.mark.also_behind_pgbouncer
async def test_q_matches_names_and_aliases_typo_tolerantly(client):
    esper = await create_person(client, name="Mark Esper", aliases=["Secretary Esper"])
    dylan = await create_person(client, name="Robert Zimmerman", aliases=["Bob Dylan"])
    mahdi = await create_person(client, name="Adil Abdul-Mahdi")
    assert await list_ids(client, URL, q="Esprr") == [esper["id"]]
    assert await list_ids(client, URL, q="mark esper") == [esper["id"]]
    assert await list_ids(client, URL, q="Secretary") == [esper["id"]]
    # Only an alias matches: the name has nothing in common with the query.
    assert await list_ids(client, URL, q="Dylon") == [dylan["id"]]
    assert await list_ids(client, URL, q="Bob Dylan") == [dylan["id"]]
    assert await list_ids(client, URL, q="Abdul Mahdi") == [mahdi["id"]]
    assert await list_ids(client, URL, q="Qwxyz") == []


@pytest.fixture
async def founding_example(db):
    async with db.transaction():
        await example.load(db)


def _example_person(key: str) -> str:
    return str(example_id(f"person:{key}"))


@pytest.mark.also_behind_pgbouncer
async def test_q_ranks_the_founding_example_best_match_first(client, founding_example):
    esper, milley, copp = (_example_person(k) for k in ("esper", "milley", "copp"))
    tapper = _example_person("tapper")
    # Jake Tapper ("@jaketapper") is similar enough to "Esper" and "Tara" to be listed,
    # and he was created last: newest first listed him before the person asked for.
    found = await list_ids(client, URL, q="Esper")
    assert found[0] == esper and tapper in found
    assert found.index(esper) < found.index(tapper)
    assert (await list_ids(client, URL, q="Mark Esper"))[:2] == [esper, milley]
    found = await list_ids(client, URL, q="Tara")
    assert found[0] == copp and found.index(copp) < found.index(tapper)
    # Word order does not matter; typos are forgiven but rank below whole words.
    assert (await list_ids(client, URL, q="esper mark"))[0] == esper
    assert (await list_ids(client, URL, q="Mrak Esper"))[0] == esper
    assert (await list_ids(client, URL, q="Espr"))[0] == esper
    # Words of other names, and a name only the floor keeps out.
    assert (await list_ids(client, URL, q="Milley"))[0] == milley
    assert _example_person("sly") not in await list_ids(client, URL, q="Esper")


@pytest.mark.also_behind_pgbouncer
async def test_q_puts_an_exact_alias_before_a_name_that_contains_its_words(client):
    dylan = await create_person(client, name="Robert Zimmerman", aliases=["Bob Dylan"])
    band = await create_person(client, name="Bob Dylan Tribute Band")
    typo = await create_person(client, name="Bob Dilan")
    assert await list_ids(client, URL, q="Bob Dylan") == [dylan["id"], band["id"], typo["id"]]
    # Exact in any order, whole words, then prefixes, then typos.
    assert await list_ids(client, URL, q="dylan bob") == [dylan["id"], band["id"], typo["id"]]
    assert (await list_ids(client, URL, q="Tribute"))[0] == band["id"]


@pytest.mark.also_behind_pgbouncer
async def test_q_ranks_whole_words_then_prefixes_then_similar_names(client):
    whole = await create_person(client, name="Christopher Wray")
    prefix = await create_person(client, name="Christophers Wrayburn")
    similar = await create_person(client, name="Kristopher Wray")
    assert await list_ids(client, URL, q="Christopher") == [
        whole["id"],
        prefix["id"],
        similar["id"],
    ]
    # A trailing `*` asks for a prefix: whole words and prefixes alike start with it.
    found = await list_ids(client, URL, q="Christ*")
    assert set(found[:2]) == {whole["id"], prefix["id"]}
    # Only one name has a word starting "wrayb"; "Wray" is merely similar.
    found = await list_ids(client, URL, q="Wrayb*")
    assert found[0] == prefix["id"] and set(found[1:]) == {whole["id"], similar["id"]}


@pytest.mark.also_behind_pgbouncer
async def test_q_pages_by_rank_through_ties_without_losing_or_repeating_anyone(client):
    # Five people of one name tie on tier, score and name: only their ids tell them
    # apart. Around them, better and worse matches.
    exact = await create_person(client, name="Ann Lee")
    twins = [(await create_person(client, name="Ann Lee Smith"))["id"] for _ in range(5)]
    aliased = await create_person(client, name="Zed Q", aliases=["Ann Lee Smith"])
    typos = [(await create_person(client, name=f"Anne Leigh {i}"))["id"] for i in range(3)]
    full = await list_ids(client, URL, q="ann lee", limit=100)
    assert full[0] == exact["id"]
    assert sorted(full[1:7]) == sorted([*twins, aliased["id"]])
    assert sorted(full[1:6]) == sorted(twins) and full[6] == aliased["id"]
    assert full[1:6] == sorted(twins)  # ties by name, then by id
    assert set(typos) <= set(full[7:])
    for limit in (1, 2, 4):
        walked = await all_ids(client, URL, q="ann lee", limit=limit)
        assert walked == full, limit


async def test_a_cursor_of_the_newest_first_list_is_refused_by_a_ranked_one(client):
    for i in range(3):
        await create_person(client, name=f"Mark Esper {i}")
    cursor = (await client.get(URL, params={"limit": 1})).json()["next_cursor"]
    assert cursor
    response = await client.get(URL, params={"limit": 1, "q": "Esper", "cursor": cursor})
    assert_problem(response, 422, field="cursor")


async def test_q_follows_alias_changes_and_ignores_deleted_people(client):
    person = await create_person(client, name="Robert Zimmerman")
    url = f"{URL}/{person['id']}"
    assert await list_ids(client, URL, q="Dylan") == []
    assert (await patch(client, url, {"aliases": ["Bob Dylan"]})).status_code == 200
    assert await list_ids(client, URL, q="Dylan") == [person["id"]]
    await delete(client, url)
    assert await list_ids(client, URL, q="Dylan") == []


async def test_updated_since_keeps_only_people_changed_at_or_after_it(client):
    a = await create_person(client, name="Alpha")
    b = await create_person(client, name="Beta")
    changed = (await patch(client, f"{URL}/{a['id']}", {"description": "changed"})).json()
    assert await list_ids(client, URL, updated_since=changed["updated_at"]) == [a["id"]]
    assert set(await list_ids(client, URL, updated_since=b["created_at"])) == {a["id"], b["id"]}
    assert await list_ids(client, URL, updated_since="2999-01-01T00:00:00Z") == []


# ---- patch ------------------------------------------------------------------------------------


async def test_patch_preconditions(client, db):
    person = await create_person(client)
    url = f"{URL}/{person['id']}"
    stale = await etag_of(client, url)
    await assert_rejected(client, db, "PATCH", url, status=428, json={"name": "X"})
    ok = await client.patch(url, json={"name": "Mark T. Esper"}, headers={"If-Match": stale})
    assert ok.status_code == 200, ok.text
    assert ok.json()["version"] == 2
    assert ok.headers["etag"] != stale
    await assert_rejected(
        client, db, "PATCH", url, status=412, json={"name": "X"}, headers={"If-Match": stale}
    )
    assert (await client.get(url)).json()["name"] == "Mark T. Esper"


@pytest.mark.also_behind_pgbouncer
async def test_patch_replaces_affiliations_and_logs_the_changed_fields(client):
    dod = await create_organization(client, name="Department of Defense")
    army = await create_organization(client, name="US Army")
    person = await create_person(
        client, affiliations=[{"organization_id": army["id"], "title": "Secretary of the Army"}]
    )
    url = f"{URL}/{person['id']}"
    new = [
        {
            "organization_id": dod["id"],
            "title": "Secretary of Defense",
            "start_on": "2019-07-23",
            "end_on": None,
        }
    ]
    body = (await patch(client, url, {"affiliations": new, "aliases": ["Esper"]})).json()
    assert (body["affiliations"], body["aliases"], body["version"]) == (new, ["Esper"], 2)
    cleared = (await patch(client, url, {"affiliations": []})).json()
    assert (cleared["affiliations"], cleared["version"]) == ([], 3)
    events = await history(client, url)
    assert [(e["action"], e["version"], e["changed_fields"]) for e in events] == [
        ("created", 1, []),
        ("updated", 2, ["affiliations", "aliases"]),
        ("updated", 3, ["affiliations"]),
    ]


async def test_patch_null_clears_the_description(client):
    person = await create_person(client, description="Former secretary.")
    body = (await patch(client, f"{URL}/{person['id']}", {"description": None})).json()
    assert (body["description"], body["version"]) == (None, 2)


async def test_patch_that_changes_nothing_keeps_the_version_and_logs_nothing(client, db):
    org = await create_organization(client)
    aff = {"organization_id": org["id"], "title": "Adviser", "start_on": None, "end_on": None}
    person = await create_person(client, aliases=["M. Esper"], affiliations=[aff])
    url = f"{URL}/{person['id']}"
    etag = await etag_of(client, url)
    before = await snapshot(db)
    for body in ({}, {"name": person["name"], "aliases": ["M. Esper"]}, {"affiliations": [aff]}):
        response = await client.patch(url, json=body, headers={"If-Match": etag})
        assert response.status_code == 200, response.text
        assert response.json() == person
        assert response.headers["etag"] == etag
    assert await snapshot(db) == before


async def test_patch_to_a_deleted_organization_is_422(client, db):
    live = await create_organization(client, name="Live")
    gone = await create_organization(client, name="Gone")
    await delete(client, f"/v1/organizations/{gone['id']}")
    person = await create_person(client, affiliations=[{"organization_id": live["id"]}])
    url = f"{URL}/{person['id']}"
    affiliations = [{"organization_id": live["id"]}, {"organization_id": gone["id"]}]
    await assert_rejected(
        client,
        db,
        "PATCH",
        url,
        field="affiliations[1].organization_id",
        json={"affiliations": affiliations},
        headers={"If-Match": await etag_of(client, url)},
    )


# ---- delete and history -------------------------------------------------------------------------


async def test_delete_lifecycle(client, db):
    person = await create_person(client, name="Mark Esper")
    other = await create_person(client, name="Lloyd Austin")
    url = f"{URL}/{person['id']}"
    await assert_rejected(client, db, "DELETE", url, status=428)
    await assert_rejected(client, db, "DELETE", url, status=412, headers={"If-Match": '"old"'})
    assert (await patch(client, url, {"description": "x"})).status_code == 200
    etag = await etag_of(client, url)
    assert (await client.delete(url, headers={"If-Match": etag})).status_code == 204

    assert_problem(await client.get(url), 404)
    assert await all_ids(client, URL) == [other["id"]]
    events = await history(client, url)
    assert [(e["action"], e["version"]) for e in events] == [
        ("created", 1),
        ("updated", 2),
        ("deleted", 3),
    ]
    assert events[1]["changed_fields"] == ["description"]
    await assert_rejected(
        client, db, "PATCH", url, status=404, json={"name": "X"}, headers={"If-Match": etag}
    )
    await assert_rejected(client, db, "DELETE", url, status=404, headers={"If-Match": "*"})


async def test_history_of_an_unknown_id_is_404(client):
    assert_problem(await client.get(f"{URL}/{MISSING_ID}/history"), 404)
    assert_problem(await client.get(f"{URL}/not-a-uuid/history"), 404)


# ---- bad input ----------------------------------------------------------------------------------


def bad_bodies(org_id: str) -> list[tuple[str, dict, str]]:
    """(case, body, the field `errors` must name); each is valid but for one thing."""

    def aff(**fields):
        return {"name": "P", "affiliations": [{"organization_id": org_id, **fields}]}

    return [
        ("unknown-field", {"name": "P", "nickname": "x"}, "nickname"),
        ("read-only-id", {"name": "P", "id": MISSING_ID}, "id"),
        ("read-only-version", {"name": "P", "version": 2}, "version"),
        ("read-only-created_at", {"name": "P", "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ("read-only-updated_at", {"name": "P", "updated_at": "2020-01-01T00:00:00Z"}, "updated_at"),
        ("name-number", {"name": 5}, "name"),
        ("name-empty", {"name": ""}, "name"),
        ("name-blank", {"name": "   "}, "name"),
        ("name-too-long", {"name": "x" * 501}, "name"),
        ("aliases-not-list", {"name": "P", "aliases": "Esper"}, "aliases"),
        ("aliases-blank", {"name": "P", "aliases": ["ok", " "]}, "aliases[1]"),
        ("aliases-number", {"name": "P", "aliases": [5]}, "aliases[0]"),
        ("description-number", {"name": "P", "description": 5}, "description"),
        ("same_as-bad-url", {"name": "P", "same_as": ["wikidata Q1"]}, "same_as[0]"),
        ("affiliations-not-list", {"name": "P", "affiliations": {}}, "affiliations"),
        ("affiliation-unknown-field", aff(role="x"), "affiliations[0].role"),
        (
            "affiliation-no-organization",
            {"name": "P", "affiliations": [{}]},
            "affiliations[0].organization_id",
        ),
        ("affiliation-bad-uuid", aff(organization_id="nope"), "affiliations[0].organization_id"),
        (
            "affiliation-missing-organization",
            aff(organization_id=MISSING_ID),
            "affiliations[0].organization_id",
        ),
        ("affiliation-bad-date", aff(start_on="2019-02-30"), "affiliations[0].start_on"),
        ("affiliation-datetime", aff(start_on="2019-07-23T00:00:00Z"), "affiliations[0].start_on"),
        ("affiliation-title-number", aff(title=1), "affiliations[0].title"),
        (
            "affiliation-ends-before-it-starts",
            aff(start_on="2019-07-23", end_on="2019-07-22"),
            "affiliations[0]",
        ),
    ]


async def test_create_rejects_bad_input_and_changes_nothing(client, db):
    org = await create_organization(client)
    await create_person(client)
    cases = [
        *bad_bodies(org["id"]),
        ("no-name", {"aliases": []}, "name"),
        ("null-name", {"name": None}, "name"),
    ]
    await assert_each_rejected(client, db, "POST", URL, cases)


async def test_patch_rejects_bad_input_and_changes_nothing(client, db):
    org = await create_organization(client)
    person = await create_person(client)
    url = f"{URL}/{person['id']}"
    headers = {"If-Match": await etag_of(client, url)}
    nulls = [(f"null-{f}", {f: None}, f) for f in ("name", "aliases", "same_as", "affiliations")]
    await assert_each_rejected(
        client, db, "PATCH", url, bad_bodies(org["id"]) + nulls, headers=headers
    )


async def test_an_affiliation_with_a_person_id_or_a_deleted_organization_is_422(client, db):
    person = await create_person(client)
    gone = await create_organization(client)
    await delete(client, f"/v1/organizations/{gone['id']}")
    cases = [
        (
            "person-id",
            {"name": "P", "affiliations": [{"organization_id": person["id"]}]},
            "affiliations[0].organization_id",
        ),
        (
            "deleted",
            {"name": "P", "affiliations": [{"organization_id": gone["id"]}]},
            "affiliations[0].organization_id",
        ),
    ]
    await assert_each_rejected(client, db, "POST", URL, cases)


async def test_a_body_that_is_not_json_is_refused(client, db):
    person = await create_person(client)
    for method, url in (("POST", URL), ("PATCH", f"{URL}/{person['id']}")):
        await assert_rejected(
            client,
            db,
            method,
            url,
            status=400,
            content=b"{name: 'P'}",
            headers={"Content-Type": "application/json", "If-Match": "*"},
        )
        await assert_rejected(
            client,
            db,
            method,
            url,
            status=415,
            content=b'{"name": "P"}',
            headers={"Content-Type": "text/plain", "If-Match": "*"},
        )
