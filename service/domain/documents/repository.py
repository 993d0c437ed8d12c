"""SQL for documents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from service.domain import appearances
from service.domain.crud import (
    Reference,
    Table,
    checked_write,
    checked_write_sql,
    distinct_ids,
)
from service.domain.documents.schemas import Document, DocumentCreate
from service.domain.history.repository import event_sql
from service.domain.history.schemas import EventAction, ResourceType
from service.domain.subjects import DOCUMENTS, ORGANIZATIONS, PEOPLE, Referent
from service.domain.verification import verification_json
from service.domain.visibility import PUBLISHED_DOCUMENT
from service.kit.db import Connection


def document_json(
    extra: str = "", *, public: bool = False, appearances_from: str = "appearances"
) -> str:
    """The representation of document `d` as SQL JSON; `extra` adds key/value pairs;
    `appearances_from` is where its appearances are read (`appearances.appearances_json`)."""
    return f"""json_build_object({extra}
    'id', d.id, 'title', d.title, 'kind', d.kind, 'issuer_id', d.issuer_id,
    'author_id', d.author_id, 'recipient', d.recipient, 'dated_on', d.dated_on,
    'surfaced_via', d.surfaced_via, 'summary', d.summary, 'body_text', d.body_text,
    'language', d.language, 'sha256', d.sha256,
    'appearances', {appearances.appearances_json("document_id", "d.id", appearances_from)},
    'tags', d.tags, 'visibility', d.visibility,
    'verification', {verification_json("d.id", public=public)},
    'version', d.version, 'created_at', d.created_at, 'updated_at', d.updated_at)"""


DOCUMENT_JSON = document_json()

documents = Table(
    referent=DOCUMENTS,
    alias="d",
    json=DOCUMENT_JSON,
    struct=Document,
    public_json=document_json(public=True),
    public_condition=PUBLISHED_DOCUMENT,
)

# What a write of a document checks: the issuer and the publishers, the author.
REFERENTS = (ORGANIZATIONS, PEOPLE)

# The references checked, the document, its appearances and its event inserted, and its
# representation built, in one round trip (`crud.checked_write_sql`).
CREATE_DOCUMENT = checked_write_sql(
    alias="d",
    write="""INSERT INTO documents (id, title, kind, issuer_id, author_id, recipient, dated_on,
        surfaced_via, summary, body_text, language, sha256, tags, visibility)
    SELECT coalesce($1::uuid, gen_random_uuid()), $2::text, $3::document_kind, $4::uuid,
        $5::uuid, $6::text, $7::date, $8::text, $9::text, $10::text, $11::text, $12::text,
        $13::text[], $14::visibility
    FROM checked WHERE checked.ok
    RETURNING *""",
    children=[appearances.insert_cte("document_id", "d", 15)],
    event=event_sql(ResourceType.DOCUMENT, EventAction.CREATED, "d", "$19"),
    json=document_json(appearances_from=appearances.NEW),
    references=[(ORGANIZATIONS, "$20"), (PEOPLE, "$21")],
)

# The query in every language the record holds, prefixes included (migration 0008).
MATCHES_TEXT = "d.search @@ search_query({}, {}::text[])"


async def create(
    conn: Connection,
    data: DocumentCreate,
    id: UUID | None,
    actor: str | None,
    wanted: Sequence[Reference],
) -> tuple[str | None, dict[Referent, set[UUID]]]:
    """Create the document in one statement (`CREATE_DOCUMENT`): its representation
    as JSON, or None when a reference in `wanted` is not live, and which were live."""
    args = [
        id,
        data.title,
        data.kind,
        data.issuer_id,
        data.author_id,
        data.recipient,
        data.dated_on,
        data.surfaced_via,
        data.summary,
        data.body_text,
        data.language,
        data.sha256,
        data.tags,
        data.visibility,
        *appearances.arrays(data.appearances),
        actor,
        *distinct_ids(wanted, REFERENTS),
    ]
    return await checked_write(conn, CREATE_DOCUMENT, args, REFERENTS)


async def update(
    conn: Connection,
    id: UUID,
    columns: dict[str, Any],
    new_appearances: Sequence[appearances.Appearance] | None,
    changed: list[str],
    actor: str | None,
    wanted: Sequence[Reference],
) -> tuple[str | None, dict[Referent, set[UUID]]]:
    """Change the locked document `id` in one statement (`appearances.update_with_appearances`)."""
    return await appearances.update_with_appearances(
        conn,
        documents,
        ResourceType.DOCUMENT,
        "document_id",
        document_json,
        REFERENTS,
        id,
        columns,
        new_appearances,
        changed,
        actor,
        wanted,
    )
