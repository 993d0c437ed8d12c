"""A small labelled relevance set: queries a desk would type (names, phrases, several
languages, misspellings, prefixes) and the item that should come first. The mean
reciprocal rank over the set is asserted at what was measured when the ranking was
built (every query's item first: 1.0), so a change to the ranking that buries one of
them fails here. `make bench` prints the same figure on its corpus's queries."""

from __future__ import annotations

import pytest

from tests.helpers import create_document, create_person, create_statement

pytestmark = pytest.mark.asyncio

# What the set measured when the ranking was built; see the module docstring.
MEASURED_MRR = 1.0


@pytest.fixture
async def record(client):
    esper = await create_person(client, name="Mark Esper", aliases=["@EsperDoD"])
    milley = await create_person(client, name="Mark Milley")
    tapper = await create_person(client, name="Jake Tapper")
    items = {
        "denial": await create_statement(
            client,
            speaker_id=esper["id"],
            text="There's been no decision whatsoever to leave Iraq. Period.",
            context="Asked at the Pentagon about the leaked letter.",
            said_at="2020-01-06T20:00:00Z",
        ),
        "draft": await create_statement(
            client,
            speaker_id=milley["id"],
            text="That letter is a draft, it was a mistake, it should not have been released.",
            said_at="2020-01-06T21:00:00Z",
        ),
        "interview": await create_statement(
            client,
            speaker_id=tapper["id"],
            text="Secretary Esper, is the United States leaving Iraq or not?",
            context="Interview on withdrawal and the decision to stay.",
            said_at="2020-01-07T15:00:00Z",
        ),
        "arabic": await create_statement(
            client,
            speaker_id=esper["id"],
            text="لم يتخذ أي قرار بمغادرة العراق",
            language="ar",
            said_at="2020-01-06T20:30:00Z",
        ),
        "letter": await create_document(
            client,
            title="Letter on onward movement out of Iraq",
            summary="U.S. forces will be repositioning for onward movement.",
            body_text="We respect your sovereign decision to order our departure.",
            dated_on="2020-01-06",
        ),
        "memo": await create_document(
            client,
            title="Memo on force protection",
            summary="Coalition troops withdrawing from forward bases; a decision on Iraq follows.",
            dated_on="2019-12-30",
        ),
        "french": await create_document(
            client,
            title="Le retrait des troupes américaines d'Irak",
            summary="La lettre annonçait le départ des forces de la coalition.",
            language="fr",
            dated_on="2020-01-07",
        ),
        "older": await create_document(
            client,
            title="Letter on onward movement (2011 drawdown)",
            summary="Forces prepared for onward movement at the end of 2011.",
            dated_on="2011-12-15",
        ),
    }
    return items


# (query, the items that are right answers, what the query tests): a query's reciprocal
# rank is 1 / the rank of the first right answer.
RELEVANCE_SET = [
    ("decision leave Iraq", {"denial"}, "a quote's words, as typed"),
    ('"onward movement"', {"letter"}, "a phrase in a title, the newer of two"),
    ("sovereign decision departure", {"letter"}, "body text words together"),
    ("Milley", {"draft"}, "a speaker's name"),
    ("withdrawl", {"memo", "interview"}, "a misspelling, answered by its correction"),
    ("withdr*", {"memo", "interview"}, "a prefix"),
    ("مغادرة", {"arabic"}, "Arabic, stemmed by Arabic rules"),
    ("retrait troupes", {"french"}, "French"),
    ("Esper leaving Iraq", {"interview"}, "a speaker named in a quote and its words"),
    ("force protection memo", {"memo"}, "a title's words"),
    ("letter released mistake", {"draft"}, "a quote's words in another order"),
]


async def test_the_relevance_set_ranks_each_expected_item_first(client, record):
    reciprocal_ranks = []
    misses = []
    for q, expected, why in RELEVANCE_SET:
        response = await client.get("/v1/search", params={"q": q, "limit": 10})
        assert response.status_code == 200, response.text
        found = [hit["id"] for hit in response.json()["items"]]
        right = {record[name]["id"] for name in expected}
        rank = next((i + 1 for i, id in enumerate(found) if id in right), None)
        reciprocal_ranks.append(1 / rank if rank else 0.0)
        if rank != 1:
            misses.append(f"{q!r} ({why}): first right answer at {rank}")
    mrr = sum(reciprocal_ranks) / len(reciprocal_ranks)
    print(f"relevance set: MRR {mrr:.3f} over {len(RELEVANCE_SET)} queries")
    assert mrr >= MEASURED_MRR, misses
