"""The partner client: `make client` generates a typed Python package from the committed
openapi/openapi.json with openapi-python-client. Here it is generated the same way,
without a warning, and used against a live server: create, read back, page a list,
follow the change feed."""

from __future__ import annotations

import asyncio
import inspect
import json
import pkgutil
from datetime import UTC, date, datetime
from types import ModuleType
from typing import Any
from uuid import UUID

import pytest

from tests import keys
from tests.distribution.python_client import SCHEMA, generated_module
from tests.ops.support import LiveServer


def _import(name: str) -> Any:
    return generated_module(name)


def test_every_model_is_a_named_schema_of_the_document(generated: ModuleType) -> None:
    """No anonymous inline object or enum became a model (`ListAssessmentsState`,
    `GetStatementResponse200`): each one is a component schema, under its own name."""
    models = _import("models")
    components = json.loads(SCHEMA.read_text(encoding="utf-8"))["components"]["schemas"]
    assert set(models.__all__) == set(components)
    # Filters take the same enums as the resources carry.
    list_assessments = _import("api.assessments.list_assessments")
    assert "AssessmentState" in str(list_assessments.asyncio.__annotations__["state"])
    # Operation ids read as method names: GetOembed is `get_oembed`, not `get_o_embed`.
    assert _import("api.embeds.get_oembed").asyncio


def _operations() -> dict[str, ModuleType]:
    """Every generated operation module, by its operation id as written in the schema
    (module `get_oembed` is GetOembed: the same letters, without the underscores)."""
    api = _import("api")
    modules = {}
    for tag in pkgutil.iter_modules(api.__path__):
        package = _import(f"api.{tag.name}")
        for operation in pkgutil.iter_modules(package.__path__):
            modules[operation.name.replace("_", "")] = _import(f"api.{tag.name}.{operation.name}")
    return modules


def test_every_operation_is_generated_and_public_reads_take_a_plain_client(
    generated: ModuleType,
) -> None:
    """The generator reads an operation-level `security` as "needs a key": only the
    operations that need one say so, and the document's default says a key is optional.
    So the public reads take a plain `Client`; the feed, the export and every write take
    an `AuthenticatedClient` only."""
    document = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert document["security"] == [{}, {"ApiKey": []}]
    modules = _operations()
    needs_key, public = set(), set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            module = modules.pop(operation["operationId"].lower())
            client = inspect.signature(module.asyncio_detailed).parameters["client"].annotation
            if "security" in operation:
                assert operation["security"] == [{"ApiKey": []}], (method, path)
                assert client is generated.AuthenticatedClient, (method, path)
                needs_key.add(operation["operationId"])
            else:
                assert client == generated.AuthenticatedClient | generated.Client, (method, path)
                public.add((method, path))
    assert modules == {}, "generated, but not in the schema"
    assert {"ListChanges", "ExportRecords", "CreateStatement", "UpdateDocument"} <= needs_key
    public_reads = {
        ("get", path)
        for path in document["paths"]
        if path.startswith(("/v1/", "/embed/"))
        and not path.startswith(("/v1/changes", "/v1/export", "/v1/api-keys", "/v1/webhooks"))
        and "get" in document["paths"][path]
    }
    assert public_reads <= public
    assert all(method == "get" for method, _ in public)
    assert ("get", "/v1/search") in public and ("get", "/v1/documents/{id}/record") in public


@pytest.mark.quiet_server  # it follows the change feed (tests/conftest.py)
async def test_create_read_page_and_follow_the_change_feed(
    generated: ModuleType, database_url: str
) -> None:
    models = _import("models")
    create_organization = _import("api.organizations.create_organization")
    create_person = _import("api.people.create_person")
    get_person = _import("api.people.get_person")
    list_people = _import("api.people.list_people")
    create_statement = _import("api.statements.create_statement")
    get_statement = _import("api.statements.get_statement")
    update_statement = _import("api.statements.update_statement")
    create_document = _import("api.documents.create_document")
    get_document = _import("api.documents.get_document")
    list_changes = _import("api.changes.list_changes")

    server = LiveServer(database_url)
    await asyncio.to_thread(server.start)
    try:
        editor = generated.AuthenticatedClient(base_url=server.url, token=keys.WRITE)
        partner = generated.AuthenticatedClient(base_url=server.url, token=keys.READ)
        async with editor, partner:
            # Where the feed is now: everything after this cursor is this test's doing.
            start = await list_changes.asyncio(client=partner, limit=100)
            assert isinstance(start, models.ChangePage), start
            assert start.items == []

            # ---- create, read back
            issuer = await create_organization.asyncio(
                client=editor,
                body=models.OrganizationCreate(
                    name="Department of Defense", kind=models.OrganizationKind.GOVERNMENT
                ),
            )
            assert isinstance(issuer, models.Organization), issuer
            assert issuer.kind is models.OrganizationKind.GOVERNMENT

            people = []
            for name in ("Mark Esper", "Kenneth McKenzie", "William Seely"):
                person = await create_person.asyncio(
                    client=editor,
                    body=models.PersonCreate(name=name, aliases=[name.split()[-1]]),
                )
                assert isinstance(person, models.Person), person
                assert isinstance(person.id, UUID)
                assert person.version == 1 and person.aliases == [name.split()[-1]]
                people.append(person)
            esper = people[0]
            assert await get_person.asyncio(esper.id, client=partner) == esper

            said_at = datetime(2020, 1, 6, 22, 30, tzinfo=UTC)
            statement = await create_statement.asyncio(
                client=editor,
                body=models.StatementCreate(
                    speaker_id=esper.id,
                    text="There's been no decision whatsoever to leave Iraq.",
                    medium=models.Medium.PRESS_BRIEFING,
                    said_at=said_at,
                    tags=["iraq"],
                ),
                idempotency_key="client-test-statement",
            )
            assert isinstance(statement, models.Statement), statement
            assert statement.medium is models.Medium.PRESS_BRIEFING
            assert statement.visibility is models.Visibility.PUBLIC
            assert statement.said_at == said_at and statement.speaker_id == esper.id
            assert statement.verification.status is models.VerificationStatus.UNASSESSED
            read = await get_statement.asyncio_detailed(statement.id, client=partner)
            assert read.status_code == 200
            assert read.parsed == statement

            # PATCH needs the ETag just read.
            updated = await update_statement.asyncio(
                statement.id,
                client=editor,
                body=models.StatementPatch(context="Asked about a letter to Iraq's government."),
                if_match=read.headers["etag"],
            )
            assert isinstance(updated, models.Statement), updated
            assert updated.version == 2
            assert updated.context == "Asked about a letter to Iraq's government."

            document = await create_document.asyncio(
                client=editor,
                body=models.DocumentCreate(
                    title="Letter to the Iraqi Ministry of Defense",
                    kind=models.DocumentKind.LETTER,
                    issuer_id=issuer.id,
                    author_id=people[2].id,
                    dated_on=date(2020, 1, 6),
                ),
            )
            assert isinstance(document, models.Document), document
            assert document.kind is models.DocumentKind.LETTER
            assert document.dated_on == date(2020, 1, 6)
            assert await get_document.asyncio(document.id, client=partner) == document

            # Errors come back as typed problems.
            missing = await get_statement.asyncio(document.id, client=partner)
            assert isinstance(missing, models.Problem) and missing.status == 404

            # ---- a list, one item a page
            seen: list[UUID] = []
            cursor: Any = generated.types.UNSET
            for _ in range(10):
                page = await list_people.asyncio(client=partner, limit=1, cursor=cursor)
                assert isinstance(page, models.PersonPage), page
                assert len(page.items) <= 1
                seen += [p.id for p in page.items]
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            assert sorted(seen) == sorted(p.id for p in people)
            assert len(seen) == len(people)

            # ---- the change feed, two events a page, from where it was
            events: list[Any] = []
            cursor = start.next_cursor
            for _ in range(20):
                changes = await list_changes.asyncio(client=partner, cursor=cursor, limit=2)
                assert isinstance(changes, models.ChangePage), changes
                events += changes.items
                cursor = changes.next_cursor
                assert isinstance(cursor, str) and cursor
                if not changes.items:
                    break
            Type, Action = models.ResourceType, models.EventAction
            assert [(e.type_, e.resource_id, e.action, e.version) for e in events] == [
                (Type.ORGANIZATION, issuer.id, Action.CREATED, 1),
                *[(Type.PERSON, p.id, Action.CREATED, 1) for p in people],
                (Type.STATEMENT, statement.id, Action.CREATED, 1),
                (Type.STATEMENT, statement.id, Action.UPDATED, 2),
                (Type.DOCUMENT, document.id, Action.CREATED, 1),
            ]
            assert all(isinstance(e.at, datetime) and e.at.tzinfo for e in events)
            # Up to date: the same cursor again gives nothing new.
            again = await list_changes.asyncio(client=partner, cursor=cursor, limit=2)
            assert isinstance(again, models.ChangePage) and again.items == []
    finally:
        server.stop()
