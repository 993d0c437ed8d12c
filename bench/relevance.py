"""The labelled relevance set: queries a desk would type (names, phrases, several
languages, misspellings, prefixes) and the item that should come first, with the record
they search. One set, two users: tests/views/search/test_relevance.py asserts its mean
reciprocal rank on a record of these items alone; `make bench` adds them to its corpus
and prints the figure there, where a hundred thousand other statements compete."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

PEOPLE: dict[str, dict[str, Any]] = {
    "esper": {"name": "Mark Esper", "aliases": ["@EsperDoD"]},
    "milley": {"name": "Mark Milley"},
    "tapper": {"name": "Jake Tapper"},
}

# Each statement names its speaker (a key of PEOPLE); the API's defaults fill the rest.
STATEMENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "denial": (
        "esper",
        {
            "text": "There's been no decision whatsoever to leave Iraq. Period.",
            "context": "Asked at the Pentagon about the leaked letter.",
            "said_at": "2020-01-06T20:00:00Z",
        },
    ),
    "draft": (
        "milley",
        {
            "text": "That letter is a draft, it was a mistake, it should not have been released.",
            "said_at": "2020-01-06T21:00:00Z",
        },
    ),
    "interview": (
        "tapper",
        {
            "text": "Secretary Esper, is the United States leaving Iraq or not?",
            "context": "Interview on withdrawal and the decision to stay.",
            "said_at": "2020-01-07T15:00:00Z",
        },
    ),
    "arabic": (
        "esper",
        {
            "text": "لم يتخذ أي قرار بمغادرة العراق",
            "language": "ar",
            "said_at": "2020-01-06T20:30:00Z",
        },
    ),
}

DOCUMENTS: dict[str, dict[str, Any]] = {
    "letter": {
        "title": "Letter on onward movement out of Iraq",
        "summary": "U.S. forces will be repositioning for onward movement.",
        "body_text": "We respect your sovereign decision to order our departure.",
        "dated_on": "2020-01-06",
    },
    "memo": {
        "title": "Memo on force protection",
        "summary": "Coalition troops withdrawing from forward bases; a decision on Iraq follows.",
        "dated_on": "2019-12-30",
    },
    "french": {
        "title": "Le retrait des troupes américaines d'Irak",
        "summary": "La lettre annonçait le départ des forces de la coalition.",
        "language": "fr",
        "dated_on": "2020-01-07",
    },
    "older": {
        "title": "Letter on onward movement (2011 drawdown)",
        "summary": "Forces prepared for onward movement at the end of 2011.",
        "dated_on": "2011-12-15",
    },
}

# (query, the items that are right answers, what the query tests): a query's reciprocal
# rank is 1 / the rank of the first right answer.
QUERIES: list[tuple[str, set[str], str]] = [
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


class Response(Protocol):
    status_code: int
    text: str

    def json(self) -> Any: ...


class Client(Protocol):
    """An HTTP client of the API (httpx's, Litestar's test client) with a write key."""

    async def post(self, url: str, *, json: Any) -> Any: ...

    async def get(self, url: str, *, params: Any) -> Any: ...


async def _create(client: Client, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/v1/{collection}", json=body)
    if response.status_code != 201:
        raise AssertionError(f"POST /v1/{collection}: {response.status_code} {response.text}")
    created: dict[str, Any] = response.json()
    return created


async def create_record(client: Client) -> dict[str, dict[str, Any]]:
    """Create the set's people, statements and documents; the items by name."""
    people = {name: await _create(client, "people", body) for name, body in PEOPLE.items()}
    items = {
        name: await _create(client, "statements", {"speaker_id": people[speaker]["id"], **body})
        for name, (speaker, body) in STATEMENTS.items()
    }
    for name, body in DOCUMENTS.items():
        items[name] = await _create(client, "documents", body)
    return items


@dataclass(frozen=True)
class Relevance:
    mrr: float
    queries: int
    misses: list[str]


async def measure(client: Client, items: dict[str, dict[str, Any]]) -> Relevance:
    """Run every query of the set (first page of 10) and score where its first right
    answer ranks."""
    reciprocal_ranks = []
    misses = []
    for q, expected, why in QUERIES:
        response = await client.get("/v1/search", params={"q": q, "limit": 10})
        if response.status_code != 200:
            raise AssertionError(f"search {q!r}: {response.status_code} {response.text}")
        found = [hit["id"] for hit in response.json()["items"]]
        right = {items[name]["id"] for name in expected}
        rank = next((i + 1 for i, id in enumerate(found) if id in right), None)
        reciprocal_ranks.append(1 / rank if rank else 0.0)
        if rank != 1:
            misses.append(f"{q!r} ({why}): first right answer at {rank}")
    return Relevance(
        mrr=sum(reciprocal_ranks) / len(reciprocal_ranks), queries=len(QUERIES), misses=misses
    )
