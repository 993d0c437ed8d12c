"""Helpers for the assessment tests: factories for a subject and an assessment, and a
"nothing changed" proof that also covers the verification tables (assessments,
evidence, relations), which tests/helpers.py does not snapshot."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.helpers import TABLES, assert_problem, create_document, create_statement

URL = "/v1/assessments"

# Every table an assessment write can touch, the event log included.
ALL_TABLES = tuple(dict.fromkeys((*TABLES, "relations", "assessments", "evidence")))


async def snapshot(db: asyncpg.Connection) -> dict[str, tuple[int, str]]:
    """Row count and a digest of every row of every table."""
    state = {}
    for table in ALL_TABLES:
        row = await db.fetchrow(
            f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            f" AS digest FROM {table} t"
        )
        state[table] = (row["n"], row["digest"])
    return state


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
    """The request is refused with a problem and the database is exactly as it was."""
    before = await snapshot(db)
    response = await client.request(method, url, **request)
    problem = assert_problem(response, status, field=field)
    assert await snapshot(db) == before, f"{method} {url} changed the database"
    return problem


async def create_subject(client: Any, subject_type: str) -> dict[str, Any]:
    """A statement or a document, as `{"type", "id"}` ready to be an assessment's subject."""
    created = await (create_statement if subject_type == "statement" else create_document)(client)
    return {"type": subject_type, "id": created["id"]}


def default_verdict(subject: dict[str, Any]) -> str:
    return "false" if subject["type"] == "statement" else "authentic"


async def create_assessment(client: Any, subject: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A draft on `subject`; the verdict defaults to one that fits it."""
    body = {
        "subject": subject,
        "verdict": default_verdict(subject),
        "headline": "The claim does not hold up",
        **fields,
    }
    response = await client.post(URL, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def publish(client: Any, id: str, **headers: str) -> Any:
    return await client.post(f"{URL}/{id}/publish", headers=headers)


async def publish_ok(client: Any, id: str) -> dict[str, Any]:
    response = await publish(client, id)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def retract(
    client: Any, id: str, reason: str = "The source recanted.", **headers: str
) -> Any:
    return await client.post(f"{URL}/{id}/retract", json={"reason": reason}, headers=headers)
