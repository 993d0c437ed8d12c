"""GET /v1/statements/{id}/similar: a reworded repeat of a claim is found, across
speakers, best first; an unrelated statement is not; the public sees public ones only."""

from __future__ import annotations

import pytest

from tests.helpers import MISSING_ID, assert_problem, create_person, create_statement

pytestmark = pytest.mark.asyncio

ESPER = "There's been no decision whatsoever to leave Iraq."
REPEAT = "No decision whatsoever has been made to leave Iraq, the official said."
CLOSER = "There has been no decision whatsoever to leave Iraq."
UNRELATED = "The budget for new schools rose by ten percent this year."


async def say(client, person, text, **fields):
    return await create_statement(client, speaker_id=person["id"], text=text, **fields)


async def test_a_reworded_repeat_by_another_speaker_is_found(client):
    esper = await create_person(client, name="Mark Esper")
    milley = await create_person(client, name="Mark Milley")
    original = await say(client, esper, ESPER)
    repeat = await say(client, milley, REPEAT)
    closer = await say(client, milley, CLOSER)
    await say(client, esper, UNRELATED)

    response = await client.get(f"/v1/statements/{original['id']}/similar")
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_cursor"] is None
    assert [i["statement"]["id"] for i in page["items"]] == [closer["id"], repeat["id"]]
    best, second = page["items"]
    assert 1 >= best["similarity"] > second["similarity"] >= 0.3
    assert best["statement"]["speaker"]["name"] == "Mark Milley"
    assert best["statement"]["type"] == "statement"
    assert best["statement"]["text"] == CLOSER

    # Paging: one at a time, the same order, then the end.
    first = (await client.get(f"/v1/statements/{original['id']}/similar?limit=1")).json()
    assert [i["statement"]["id"] for i in first["items"]] == [closer["id"]]
    rest = (
        await client.get(
            f"/v1/statements/{original['id']}/similar",
            params={"limit": 1, "cursor": first["next_cursor"]},
        )
    ).json()
    assert [i["statement"]["id"] for i in rest["items"]] == [repeat["id"]]
    assert rest["next_cursor"] is None


async def test_nothing_similar(client):
    person = await create_person(client, name="Someone")
    alone = await say(client, person, UNRELATED)
    await say(client, person, ESPER)
    page = (await client.get(f"/v1/statements/{alone['id']}/similar")).json()
    assert page == {"items": [], "next_cursor": None}


async def test_the_public_sees_only_public_statements(client, anonymous_client):
    esper = await create_person(client, name="Mark Esper")
    original = await say(client, esper, ESPER)
    hidden = await say(client, esper, CLOSER, visibility="internal")
    public = await say(client, esper, REPEAT)

    newsroom = (await client.get(f"/v1/statements/{original['id']}/similar")).json()
    assert {i["statement"]["id"] for i in newsroom["items"]} == {hidden["id"], public["id"]}
    anonymous = (await anonymous_client.get(f"/v1/statements/{original['id']}/similar")).json()
    assert [i["statement"]["id"] for i in anonymous["items"]] == [public["id"]]
    # An internal statement itself is not there for the public.
    response = await anonymous_client.get(f"/v1/statements/{hidden['id']}/similar")
    assert_problem(response, 404)


async def test_missing_statement_and_bad_cursor(client):
    assert_problem(await client.get(f"/v1/statements/{MISSING_ID}/similar"), 404)
    person = await create_person(client, name="Someone")
    statement = await say(client, person, ESPER)
    response = await client.get(
        f"/v1/statements/{statement['id']}/similar", params={"cursor": "nonsense"}
    )
    assert_problem(response, 422, field="cursor")
