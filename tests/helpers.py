"""Small helpers shared by the HTTP tests: factories that create resources through the
API, a snapshot of every table to prove a rejected request changed nothing, and
assertions for the conventions every endpoint follows (problem details, ETags, 304)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx

from service.app import create_app
from service.settings import Settings
from tests import keys

BASE_URL = "http://testserver.local"  # the PUBLIC_BASE_URL the test settings use
PROBLEM = "application/problem+json"
JSON = "application/json"
# A well-formed id that no test ever creates.
MISSING_ID = "00000000-0000-4000-8000-000000000000"
SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

# Every table a write can touch; the event log included.
TABLES = (
    "organizations",
    "people",
    "affiliations",
    "documents",
    "statements",
    "appearances",
    "relations",
    "assessments",
    "evidence",
    "events",
)


def database_environment(database_settings: dict[str, Any]) -> dict[str, str]:
    """The `database_settings` fixture (tests/conftest.py: the database directly or
    through PgBouncer) as the environment of `python -m service`."""
    return {name.upper(): str(value) for name, value in database_settings.items()}


@asynccontextmanager
async def concurrent_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client whose requests really run at the same time.

    Litestar's AsyncTestClient (the `client` fixture) runs the app on a portal thread
    and blocks the test's event loop for the whole of each request, so `asyncio.gather`
    over it runs requests one after another. This serves a second app, on the same
    database, in the test's own event loop.
    """
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=transport, base_url=BASE_URL, headers=keys.bearer(keys.ADMIN)
        ) as http,
    ):
        yield http


# ---- factories ------------------------------------------------------------------------------


async def create(client: Any, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST a valid body; fail loudly unless it was created."""
    response = await client.post(f"/v1/{collection}", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def create_organization(client: Any, **fields: Any) -> dict[str, Any]:
    return await create(client, "organizations", {"name": "Reuters", **fields})


async def create_person(client: Any, **fields: Any) -> dict[str, Any]:
    return await create(client, "people", {"name": "Mark Esper", **fields})


async def create_document(client: Any, **fields: Any) -> dict[str, Any]:
    return await create(client, "documents", {"title": "Letter to the Iraqi ministry", **fields})


async def create_statement(client: Any, **fields: Any) -> dict[str, Any]:
    """A statement; a speaker is created unless `speaker_id` is given."""
    if "speaker_id" not in fields:
        fields["speaker_id"] = (await create_person(client))["id"]
    return await create(client, "statements", {"text": "There has been no decision.", **fields})


async def etag_of(client: Any, url: str) -> str:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    etag: str = response.headers["etag"]
    return etag


async def delete(client: Any, url: str) -> None:
    """Soft-delete through the API with the current ETag."""
    response = await client.delete(url, headers={"If-Match": await etag_of(client, url)})
    assert response.status_code == 204, response.text


async def patch(client: Any, url: str, body: dict[str, Any]) -> Any:
    """PATCH with the current ETag; returns the response."""
    return await client.patch(url, json=body, headers={"If-Match": await etag_of(client, url)})


async def list_ids(client: Any, url: str, **params: Any) -> list[str]:
    """The ids of one page of a list."""
    response = await client.get(url, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def all_ids(client: Any, url: str, **params: Any) -> list[str]:
    """Every id of a list, following next_cursor to the end."""
    ids: list[str] = []
    cursor = None
    for _ in range(1000):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(url, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the list never ended")


async def history(client: Any, url: str) -> list[dict[str, Any]]:
    response = await client.get(f"{url}/history", params={"limit": 100})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


# ---- proving nothing changed --------------------------------------------------------------


async def snapshot(db: asyncpg.Connection) -> dict[str, tuple[int, str]]:
    """Row count and a digest of every row of every table: equal snapshots mean no
    insert, update or delete happened in between."""
    state = {}
    for table in TABLES:
        row = await db.fetchrow(
            f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            f" AS digest FROM {table} t"
        )
        state[table] = (row["n"], row["digest"])
    return state


def assert_problem(response: Any, status: int, *, field: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status; when `field` is given, a
    validation problem whose `errors` name that field."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    problem: dict[str, Any] = response.json()
    for key in ("type", "title", "status", "detail"):
        assert key in problem, problem
    assert problem["status"] == status
    assert isinstance(problem["type"], str) and problem["type"]
    assert isinstance(problem["title"], str) and problem["title"]
    assert isinstance(problem["detail"], str) and problem["detail"]
    text = response.text.lower()
    assert "traceback" not in text and "select " not in text and "insert into" not in text
    if field is not None:
        fields = [error["field"] for error in problem.get("errors", [])]
        assert field in fields, problem
        for error in problem["errors"]:
            assert set(error) == {"field", "message"} and error["message"], error
    return problem


async def assert_rejected(
    client: Any,
    db: asyncpg.Connection,
    method: str,
    url: str,
    *,
    status: int = 422,
    field: str | None = None,
    **request: Any,
) -> dict[str, Any]:
    """Send a request that must be refused with a problem, and prove that the database
    (every table and the event log) is exactly as it was."""
    before = await snapshot(db)
    response = await client.request(method, url, **request)
    problem = assert_problem(response, status, field=field)
    assert await snapshot(db) == before, f"{method} {url} changed the database"
    return problem


async def assert_each_rejected(
    client: Any,
    db: asyncpg.Connection,
    method: str,
    url: str,
    cases: Iterable[tuple[str, Any, str | None]],
    *,
    status: int = 422,
    headers: dict[str, str] | None = None,
) -> None:
    """`assert_rejected` for each `(case id, JSON body, field)`, sharing one database;
    every failing case is reported, not just the first."""
    failures = []
    for case, body, field in cases:
        try:
            await assert_rejected(
                client, db, method, url, status=status, field=field, json=body, headers=headers
            )
        except AssertionError as exc:
            failures.append(f"{case}: {exc}")
    assert not failures, "\n".join(failures)


# ---- conditional GET -----------------------------------------------------------------------


async def assert_conditional_get(client: Any, url: str) -> None:
    """GET serves a strong ETag; If-None-Match with it (also weak or in a list) or `*`
    answers 304 without a body, and a different tag gets the full 200."""
    response = await client.get(url)
    assert response.status_code == 200, response.text
    etag = response.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2, etag
    for header in (etag, f"W/{etag}", "*", f'"not-it", {etag}'):
        not_modified = await client.get(url, headers={"If-None-Match": header})
        assert not_modified.status_code == 304, header
        assert not_modified.content == b""
        assert not_modified.headers["etag"] == etag
    fresh = await client.get(url, headers={"If-None-Match": '"something-else"'})
    assert fresh.status_code == 200
    assert fresh.json() == response.json()


async def allow_bulk_loads(db: Any) -> None:
    """Lift the request statement_timeout (migration 0010) on a test's own connection:
    loading tens of thousands of rows at once (each with its search vectors and word
    pairs) takes longer than a request may."""
    await db.execute("SET statement_timeout = 0")
