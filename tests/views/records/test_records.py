"""The one-call record on the founding example, and its bounded query count."""

from __future__ import annotations

import asyncio

import pytest

from service.commands import example
from service.commands.example import example_id
from service.views.records.service import document_record
from service.web.auth import Audience
from tests.helpers import create_person, create_statement

pytestmark = pytest.mark.asyncio

LETTER = example_id("document:letter")
ESPER = example_id("statement:esper_no_decision")
MILLEY = example_id("statement:milley_draft")


@pytest.fixture
async def founding_example(db):
    async with db.transaction():
        await example.load(db)


@pytest.mark.also_behind_pgbouncer
async def test_letter_record_tells_the_story(client, founding_example):
    response = await client.get(f"/v1/documents/{LETTER}/record")
    assert response.status_code == 200, response.text
    assert response.headers["etag"]
    record = response.json()

    subject = record["subject"]
    assert subject["type"] == "document" and subject["id"] == str(LETTER)
    verification = subject["verification"]
    assert verification["status"] == "assessed"
    assert verification["verdict"] == "authentic" and verification["label"] == "Authentic"
    assert verification["corroborations"] == 3
    assert verification["denials"] == 2

    verdicts = [(a["verdict"], a["state"]) for a in record["assessments"]]
    assert verdicts == [("authentic", "published"), ("likely_authentic", "superseded")]
    assert verification["assessment_id"] == record["assessments"][0]["id"]

    outlets = {c["organization"]["name"] for c in record["corroborations"]}
    assert outlets == {"Reuters", "Agence France-Presse", "The Washington Post"}

    related = {r["item"]["id"]: r for r in record["related"]}
    esper = related[str(ESPER)]
    assert esper["relation"]["type"] == "denies"
    assert esper["relation"]["direction"] == "incoming"
    assert esper["item"]["type"] == "statement"
    assert esper["item"]["speaker"]["name"] == "Mark Esper"
    assert esper["item"]["verification"]["verdict"] == "misleading"
    assert related[str(MILLEY)]["item"]["verification"]["verdict"] == "mostly_false"

    timeline = record["timeline"]
    assert [t["at"] for t in timeline] == sorted(t["at"] for t in timeline)
    kinds = {t["kind"] for t in timeline}
    assert {"dated", "said", "assessed", "superseded"} <= kinds
    assert kinds <= {"dated", "surfaced", "said", "appeared", "assessed", "superseded", "retracted"}


async def test_statement_record_has_its_speaker_and_the_letter(client, founding_example):
    record = (await client.get(f"/v1/statements/{MILLEY}/record")).json()
    assert record["subject"]["type"] == "statement"
    assert record["subject"]["speaker"]["name"] == "Mark Milley"
    assert [a["state"] for a in record["assessments"]] == ["published", "superseded"]
    directions = {(r["relation"]["type"], r["relation"]["direction"]) for r in record["related"]}
    assert ("denies", "outgoing") in directions
    assert ("contradicts", "incoming") in directions  # Liz Sly's report


async def test_record_answers_304_and_404(client, founding_example):
    first = await client.get(f"/v1/documents/{LETTER}/record")
    again = await client.get(
        f"/v1/documents/{LETTER}/record", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    missing = await client.get(f"/v1/documents/{ESPER}/record")  # a statement's id
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


async def test_record_reads_in_one_query_however_many_related_items(client, db):
    """No query per related item: the record is one statement with 1 or 12 relations."""
    letter = (await client.post("/v1/documents", json={"title": "A letter"})).json()
    speaker = await create_person(client)

    async def queries_for_record() -> int:
        seen: list[str] = []

        def log(record: object) -> None:
            seen.append(record.query)  # type: ignore[attr-defined]

        db.add_query_logger(log)
        try:
            await document_record(db, letter["id"], Audience.NEWSROOM)
            await asyncio.sleep(0.01)  # asyncpg calls query loggers soon after, not inline
        finally:
            db.remove_query_logger(log)
        return len(seen)

    async def relate() -> None:
        statement = await create_statement(client, speaker_id=speaker["id"])
        body = {
            "source": {"type": "statement", "id": statement["id"]},
            "type": "denies",
            "target": {"type": "document", "id": letter["id"]},
        }
        assert (await client.post("/v1/relations", json=body)).status_code == 201

    await relate()
    with_one = await queries_for_record()
    for _ in range(11):
        await relate()
    with_twelve = await queries_for_record()
    assert with_one == with_twelve == 1
    assert len((await document_record(db, letter["id"], Audience.NEWSROOM)).related) == 12
