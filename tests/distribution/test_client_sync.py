"""A partner keeps a copy of the published record with nothing but the generated Python
client and a `read` key: it follows the change feed, fetches each changed resource
through the client's typed reads, and the copy it ends up with is the export, field for
field. The export itself is read as the README shows: streamed, line by line, through
the generated client's own httpx client."""

from __future__ import annotations

import asyncio
import json
from types import ModuleType
from typing import Any
from uuid import UUID

import pytest

from tests import keys
from tests.distribution.python_client import generated_module
from tests.ops.support import LiveServer

# The typed read of each resource type of the feed, and the model it returns.
READS = {
    "organization": ("api.organizations.get_organization", "Organization"),
    "person": ("api.people.get_person", "Person"),
    "document": ("api.documents.get_document", "Document"),
    "statement": ("api.statements.get_statement", "Statement"),
    "relation": ("api.relations.get_relation", "Relation"),
    "assessment": ("api.assessments.get_assessment", "Assessment"),
}
# A sync of a few dozen events needs a few dozen pages of 3; far fewer than this.
MAX_PAGES = 100

Key = tuple[str, UUID]


def _import(name: str) -> Any:
    return generated_module(name)


async def seed(client: Any) -> dict[str, Any]:
    """What the newsroom writes (with an admin key): published resources, one of each
    type, some changed or deleted afterwards, and some the public never sees. Returns
    the ids the test checks by name."""
    models = _import("models")
    create_organization = _import("api.organizations.create_organization")
    create_person = _import("api.people.create_person")
    update_person = _import("api.people.update_person")
    get_person = _import("api.people.get_person")
    delete_person = _import("api.people.delete_person")
    create_document = _import("api.documents.create_document")
    create_statement = _import("api.statements.create_statement")
    get_statement = _import("api.statements.get_statement")
    delete_statement = _import("api.statements.delete_statement")
    create_relation = _import("api.relations.create_relation")
    create_assessment = _import("api.assessments.create_assessment")
    publish_assessment = _import("api.assessments.publish_assessment")

    async def made(call: Any, model: str, **arguments: Any) -> Any:
        created = await call.asyncio(client=client, **arguments)
        assert isinstance(created, getattr(models, model)), created
        return created

    async def etag(get: Any, id: UUID) -> str:
        response = await get.asyncio_detailed(id, client=client)
        assert response.status_code == 200, response.content
        return str(response.headers["etag"])

    outlet = await made(
        create_organization,
        "Organization",
        body=models.OrganizationCreate(name="Reuters", kind=models.OrganizationKind.NEWS_OUTLET),
    )
    ministry = await made(
        create_organization,
        "Organization",
        body=models.OrganizationCreate(
            name="Department of Defense", kind=models.OrganizationKind.GOVERNMENT
        ),
    )
    speaker = await made(create_person, "Person", body=models.PersonCreate(name="Mark Esper"))
    renamed = await made(create_person, "Person", body=models.PersonCreate(name="W. Seely"))
    updated = await update_person.asyncio(
        renamed.id,
        client=client,
        body=models.PersonPatch(name="William Seely", aliases=["Seely"]),
        if_match=await etag(get_person, renamed.id),
    )
    assert isinstance(updated, models.Person) and updated.version == 2, updated
    gone_person = await made(create_person, "Person", body=models.PersonCreate(name="Nobody"))
    deleted = await delete_person.asyncio_detailed(
        gone_person.id, client=client, if_match=await etag(get_person, gone_person.id)
    )
    assert deleted.status_code == 204, deleted.content

    letter = await made(
        create_document,
        "Document",
        body=models.DocumentCreate(
            title="Letter to the Iraqi Ministry of Defense",
            kind=models.DocumentKind.LETTER,
            issuer_id=ministry.id,
            author_id=renamed.id,
        ),
    )
    internal = await made(
        create_document,
        "Document",
        body=models.DocumentCreate(
            title="A leak under verification", visibility=models.Visibility.INTERNAL
        ),
    )
    denial = await made(
        create_statement,
        "Statement",
        body=models.StatementCreate(
            speaker_id=speaker.id,
            text="There's been no decision whatsoever to leave Iraq.",
            medium=models.Medium.PRESS_BRIEFING,
        ),
    )
    retracted = await made(
        create_statement,
        "Statement",
        body=models.StatementCreate(speaker_id=speaker.id, text="A quote that was misheard."),
    )

    def ref(kind: Any, id: UUID) -> Any:
        return models.SubjectRef(type_=kind, id=id)

    statement, document = models.SubjectType.STATEMENT, models.SubjectType.DOCUMENT
    relation = await made(
        create_relation,
        "Relation",
        body=models.RelationCreate(
            source=ref(statement, denial.id),
            target=ref(document, letter.id),
            type_=models.RelationType.DENIES,
        ),
    )
    # Its source is deleted below: the relation goes with it.
    orphan = await made(
        create_relation,
        "Relation",
        body=models.RelationCreate(
            source=ref(statement, retracted.id),
            target=ref(document, letter.id),
            type_=models.RelationType.CONFIRMS,
        ),
    )
    deleted = await delete_statement.asyncio_detailed(
        retracted.id, client=client, if_match=await etag(get_statement, retracted.id)
    )
    assert deleted.status_code == 204, deleted.content

    draft = await made(
        create_assessment,
        "Assessment",
        body=models.AssessmentCreate(
            subject=ref(statement, denial.id),
            verdict=models.Verdict.MISLEADING,
            headline="The letter says otherwise",
            author_organization_id=outlet.id,
        ),
    )
    published = await publish_assessment.asyncio(draft.id, client=client)
    assert isinstance(published, models.Assessment), published
    unpublished = await made(
        create_assessment,
        "Assessment",
        body=models.AssessmentCreate(
            subject=ref(document, letter.id),
            verdict=models.Verdict.AUTHENTIC,
            headline="A draft nobody outside may read",
        ),
    )
    return {
        "published": {
            ("organization", outlet.id),
            ("organization", ministry.id),
            ("person", speaker.id),
            ("person", renamed.id),
            ("document", letter.id),
            ("statement", denial.id),
            ("relation", relation.id),
            ("assessment", published.id),
        },
        "deleted": {
            ("person", gone_person.id),
            ("statement", retracted.id),
            ("relation", orphan.id),
        },
        "never_public": {("document", internal.id), ("assessment", unpublished.id)},
        "statement": denial.id,
        "document": letter.id,
    }


async def follow_the_feed(partner: Any) -> list[Any]:
    """Every event of the change feed, three a page, from the start until a page is
    empty (up to date)."""
    models = _import("models")
    list_changes = _import("api.changes.list_changes")
    events: list[Any] = []
    cursor: Any = _import("types").UNSET
    for _ in range(MAX_PAGES):
        page = await list_changes.asyncio(client=partner, cursor=cursor, limit=3)
        assert isinstance(page, models.ChangePage), page
        if not page.items:
            return events
        events += page.items
        cursor = page.next_cursor
    raise AssertionError(f"the feed did not end within {MAX_PAGES} pages")


async def fetch(partner: Any, type_: str, id: UUID) -> tuple[Any, dict[str, Any]] | None:
    """The resource through its typed read: the model and the JSON it came from, or None
    when it is gone (404)."""
    module, model = READS[type_]
    response = await _import(module).asyncio_detailed(id, client=partner)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, getattr(_import("models"), model)), response.parsed
    return response.parsed, json.loads(response.content)


async def stream_export(partner: Any) -> tuple[str, list[dict[str, Any]]]:
    """The export as a partner streams it (README, "Partner client"): through the
    generated client's httpx client, one line at a time, never the whole body at once."""
    lines: list[dict[str, Any]] = []
    async with partner.get_async_httpx_client().stream("GET", "/v1/export") as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        cursor = response.headers["changes-cursor"]
        async for line in response.aiter_lines():
            if line:  # aiter_lines gives no empty line for the final newline; be sure
                lines.append(json.loads(line))
    return cursor, lines


def fields_of(line: dict[str, Any]) -> tuple[Key, dict[str, Any]]:
    """An export line as the resource's own GET writes it: without the line's `type`,
    and a relation's `relation_type` back under its name, `type`."""
    fields = dict(line)
    type_ = fields.pop("type")
    if type_ == "relation":
        fields["type"] = fields.pop("relation_type")
    return (type_, UUID(fields["id"])), fields


def differences(got: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    return [
        f"{field}: {got.get(field, '<missing>')!r} != {expected.get(field, '<missing>')!r}"
        for field in sorted(got.keys() | expected.keys())
        if got.get(field, ...) != expected.get(field, ...)
    ]


@pytest.mark.quiet_server  # it follows the change feed (tests/conftest.py)
async def test_a_copy_synced_through_the_client_is_the_export(
    generated: ModuleType, database_url: str
) -> None:
    models = _import("models")
    export_records = _import("api.export.export_records")

    server = LiveServer(database_url)
    await asyncio.to_thread(server.start)
    try:
        editor = generated.AuthenticatedClient(base_url=server.url, token=keys.ADMIN)
        partner = generated.AuthenticatedClient(base_url=server.url, token=keys.READ)
        async with editor, partner:
            seeded = await seed(editor)

            # ---- the partner's sync: the feed, then each changed resource, once
            events = await follow_the_feed(partner)
            changed = list(dict.fromkeys((str(e.type_), e.resource_id) for e in events))
            copy: dict[Key, tuple[Any, dict[str, Any]]] = {}
            gone: set[Key] = set()
            for key in changed:
                fetched = await fetch(partner, *key)
                if fetched is None:
                    gone.add(key)
                else:
                    copy[key] = fetched

            # The feed told a `read` key of the published record only, deletions included.
            assert set(copy) == seeded["published"]
            assert gone == seeded["deleted"]
            deleted_events = {
                (str(e.type_), e.resource_id) for e in events if e.action == "deleted"
            }
            assert deleted_events == seeded["deleted"]
            assert not set(changed) & seeded["never_public"]

            # ---- the export, streamed: the same resources, field for field
            cursor, lines = await stream_export(partner)
            exported = dict(fields_of(line) for line in lines)
            assert len(exported) == len(lines), "a resource is exported twice"
            assert set(exported) - set(copy) == set(), "exported but not synced"
            assert set(copy) - set(exported) == set(), "synced but not exported"
            for key, fields in exported.items():
                model, fetched_json = copy[key]
                assert differences(fields, fetched_json) == [], key
                # And as the client's model: nothing it does not know of, equal to the read.
                line_model = getattr(models, READS[key[0]][1]).from_dict(fields)
                assert line_model.additional_properties == {}, key
                assert line_model == model, key

            # The feed continues from the export's moment with nothing new.
            after = await _import("api.changes.list_changes").asyncio(
                client=partner, cursor=cursor, limit=100
            )
            assert isinstance(after, models.ChangePage) and after.items == [], after

            # The generated ExportRecords reads the whole body: the same lines, as a str.
            whole = await export_records.asyncio_detailed(client=partner)
            assert whole.status_code == 200
            assert isinstance(whole.parsed, str)
            assert [json.loads(line) for line in whole.parsed.splitlines()] == lines
    finally:
        server.stop()


async def test_public_reads_take_a_plain_client(generated: ModuleType, database_url: str) -> None:
    """Without a key, a plain `Client` reads what the public may read: a list, search, a
    record; what needs a key (the feed, the export) answers 401."""
    models = _import("models")
    list_statements = _import("api.statements.list_statements")
    search = _import("api.search.search")
    get_statement_record = _import("api.records.get_statement_record")
    get_document = _import("api.documents.get_document")
    list_changes = _import("api.changes.list_changes")

    server = LiveServer(database_url)
    await asyncio.to_thread(server.start)
    try:
        editor = generated.AuthenticatedClient(base_url=server.url, token=keys.ADMIN)
        anonymous = generated.Client(base_url=server.url)
        async with editor, anonymous:
            seeded = await seed(editor)
            page = await list_statements.asyncio(client=anonymous)
            assert isinstance(page, models.StatementPage), page
            assert [s.id for s in page.items] == [seeded["statement"]]
            found = await search.asyncio(client=anonymous, q="decision Iraq")
            assert isinstance(found, models.SearchResults), found
            assert [hit.id for hit in found.items] == [seeded["statement"]]
            record = await get_statement_record.asyncio(seeded["statement"], client=anonymous)
            assert isinstance(record, models.StatementRecord), record
            assert record.subject.id == seeded["statement"]
            assert [a.verdict for a in record.assessments] == [models.Verdict.MISLEADING]
            document = await get_document.asyncio(seeded["document"], client=anonymous)
            assert isinstance(document, models.Document) and document.id == seeded["document"]
            # (A type checker refuses this call: list_changes takes an AuthenticatedClient.)
            refused = await list_changes.asyncio_detailed(client=anonymous)
            assert refused.status_code == 401
    finally:
        server.stop()
