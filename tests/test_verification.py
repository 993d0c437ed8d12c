"""The `verification` object stays consistent with assessments and relations after
every kind of change: publish, supersede, retract, a deleted relation, a draft."""

from __future__ import annotations

import pytest

from tests.helpers import create_document, create_organization, create_statement, delete

# Verification through its whole life, through PgBouncer too (tests/conftest.py).
pytestmark = [pytest.mark.asyncio, pytest.mark.also_behind_pgbouncer]


async def verification(client, collection, id):
    response = await client.get(f"/v1/{collection}/{id}")
    assert response.status_code == 200, response.text
    return response.json()["verification"]


async def create_assessment(client, subject_type, subject_id, verdict, **fields):
    body = {
        "subject": {"type": subject_type, "id": subject_id},
        "verdict": verdict,
        "headline": f"Verdict: {verdict}",
        **fields,
    }
    response = await client.post("/v1/assessments", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def publish(client, id):
    response = await client.post(f"/v1/assessments/{id}/publish")
    assert response.status_code == 200, response.text
    return response.json()


async def test_document_verification_through_its_whole_life(client):
    letter = await create_document(client, title="The letter")
    reuters = await create_organization(client, name="Reuters", kind="news_outlet")
    afp = await create_organization(client, name="AFP", kind="news_outlet")
    unassessed = await verification(client, "documents", letter["id"])
    assert unassessed == {
        "status": "unassessed",
        "verdict": None,
        "label": None,
        "assessment_id": None,
        "published_at": None,
        "corroborations": 0,
        "denials": 0,
    }

    # A draft never counts.
    first = await create_assessment(
        client,
        "document",
        letter["id"],
        "likely_authentic",
        evidence=[{"kind": "confirmation", "organization_id": reuters["id"]}],
    )
    assert (await verification(client, "documents", letter["id"]))["status"] == "unassessed"

    published = await publish(client, first["id"])
    after_publish = await verification(client, "documents", letter["id"])
    assert after_publish["status"] == "assessed"
    assert after_publish["verdict"] == "likely_authentic"
    assert after_publish["label"] == "Likely authentic"
    assert after_publish["assessment_id"] == first["id"]
    assert after_publish["published_at"] == published["published_at"]
    assert after_publish["corroborations"] == 1

    # Two confirmations by the same outlet count once; a refuting one not at all.
    second = await create_assessment(
        client,
        "document",
        letter["id"],
        "authentic",
        supersedes_id=first["id"],
        evidence=[
            {"kind": "confirmation", "organization_id": reuters["id"]},
            {"kind": "confirmation", "organization_id": reuters["id"], "url": "https://r.example"},
            {"kind": "confirmation", "organization_id": afp["id"]},
            {"kind": "confirmation", "organization_id": afp["id"], "stance": "refutes"},
        ],
    )
    await publish(client, second["id"])
    after_supersede = await verification(client, "documents", letter["id"])
    assert after_supersede["verdict"] == "authentic" and after_supersede["label"] == "Authentic"
    assert after_supersede["assessment_id"] == second["id"]
    assert after_supersede["corroborations"] == 2

    # Retracting the current verdict: the superseded one does not come back.
    response = await client.post(
        f"/v1/assessments/{second['id']}/retract", json={"reason": "Forged stamp"}
    )
    assert response.status_code == 200
    assert (await verification(client, "documents", letter["id"]))["status"] == "unassessed"


async def test_denials_count_live_relations_from_live_statements(client):
    letter = await create_document(client)
    statements = [await create_statement(client) for _ in range(3)]
    relations = []
    for statement in statements:
        body = {
            "source": {"type": "statement", "id": statement["id"]},
            "type": "denies",
            "target": {"type": "document", "id": letter["id"]},
        }
        relations.append((await client.post("/v1/relations", json=body)).json())
    confirm = {
        "source": {"type": "statement", "id": statements[0]["id"]},
        "type": "confirms",
        "target": {"type": "document", "id": letter["id"]},
    }
    assert (await client.post("/v1/relations", json=confirm)).status_code == 201
    assert (await verification(client, "documents", letter["id"]))["denials"] == 3

    await delete(client, f"/v1/relations/{relations[0]['id']}")
    assert (await verification(client, "documents", letter["id"]))["denials"] == 2
    await delete(client, f"/v1/statements/{statements[1]['id']}")
    assert (await verification(client, "documents", letter["id"]))["denials"] == 1


async def test_statement_verdict_filter_follows_the_current_verdict(client):
    statement = await create_statement(client)
    other = await create_statement(client)
    first = await create_assessment(client, "statement", statement["id"], "mostly_false")
    await publish(client, first["id"])
    await create_assessment(client, "statement", other["id"], "mostly_false")  # a draft

    async def ids(verdict):
        response = await client.get("/v1/statements", params={"verdict": verdict})
        assert response.status_code == 200
        return [s["id"] for s in response.json()["items"]]

    assert await ids("mostly_false") == [statement["id"]]
    second = await create_assessment(
        client, "statement", statement["id"], "false", supersedes_id=first["id"]
    )
    await publish(client, second["id"])
    assert await ids("mostly_false") == []
    assert await ids("false") == [statement["id"]]
    bad = await client.get("/v1/statements", params={"verdict": "authentic!"})
    assert bad.status_code == 422


async def test_a_deleted_organization_no_longer_corroborates(client):
    """The count agrees with the record's list of corroborations, which shows live
    organizations only."""
    letter = await create_document(client)
    reuters = await create_organization(client, name="Reuters", kind="news_outlet")
    afp = await create_organization(client, name="AFP", kind="news_outlet")
    evidence = [
        {"kind": "confirmation", "organization_id": reuters["id"]},
        {"kind": "confirmation", "organization_id": afp["id"]},
    ]
    assessment = await create_assessment(
        client, "document", letter["id"], "authentic", evidence=evidence
    )
    await publish(client, assessment["id"])
    assert (await verification(client, "documents", letter["id"]))["corroborations"] == 2

    await delete(client, f"/v1/organizations/{afp['id']}")
    assert (await verification(client, "documents", letter["id"]))["corroborations"] == 1
    record = (await client.get(f"/v1/documents/{letter['id']}/record")).json()
    assert record["subject"]["verification"]["corroborations"] == 1
    assert [c["organization"]["id"] for c in record["corroborations"]] == [reuters["id"]]
