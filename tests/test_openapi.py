"""The committed OpenAPI document is what the app serves, and it documents every route."""

from __future__ import annotations

import json
from pathlib import Path

from service.commands.openapi import render_schema

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def test_committed_schema_matches_the_app():
    assert COMMITTED.read_text(encoding="utf-8") == render_schema(), (
        "openapi/openapi.json is stale: run `make openapi` and commit the result"
    )


def test_every_operation_is_named_summarised_and_documents_its_errors():
    schema = json.loads(render_schema())
    assert schema["openapi"].startswith("3.1")
    operation_ids = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            operation_ids.append(operation["operationId"])
            assert operation.get("summary"), f"{method} {path} has no summary"
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (
                        f"{method} {path} {status} is not documented as problem+json"
                    )
    assert len(operation_ids) == len(set(operation_ids))


async def test_served_schema_is_the_committed_one(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    served = response.json()
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    # The served document names the test server's base URL; everything else is identical.
    served.pop("servers")
    committed.pop("servers")
    assert served == committed


def test_request_bodies_say_what_they_refuse():
    schemas = json.loads(render_schema())["components"]["schemas"]
    assert schemas["StatementCreate"]["additionalProperties"] is False
    assert "additionalProperties" not in schemas["Statement"]  # a response may grow
    items = schemas["StatementCreate"]["properties"]["tags"]["items"]
    assert items["minLength"] == 1 and items["maxLength"] == 100 and items["pattern"]
    # Each kind of evidence needs its own field.
    rules = {
        r["if"]["properties"]["kind"]["const"]: r["then"]["required"]
        for r in schemas["Evidence"]["allOf"]
    }
    assert rules == {
        "url": ["url"],
        "statement": ["statement_id"],
        "document": ["document_id"],
        "confirmation": ["organization_id"],
    }


def test_a_create_links_to_what_it_created():
    paths = json.loads(render_schema())["paths"]
    links = paths["/v1/statements"]["post"]["responses"]["201"]["links"]
    assert links["GetStatement"]["parameters"] == {"path.id": "$response.body#/id"}
    assert links["UpdateStatement"]["parameters"] == {
        "path.id": "$response.body#/id",
        "header.If-Match": "$response.header.ETag",
    }
    links = paths["/v1/statements/{id}"]["get"]["responses"]["200"]["links"]
    assert links["DeleteStatement"]["parameters"]["path.id"] == "$request.path.id"
