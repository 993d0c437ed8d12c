"""SQL for documents."""

from __future__ import annotations

from uuid import UUID

from service.domain import appearances
from service.domain.crud import Table
from service.domain.documents.schemas import Document, DocumentCreate
from service.domain.subjects import DOCUMENTS
from service.domain.verification import verification_json
from service.domain.visibility import PUBLISHED_DOCUMENT
from service.kit.db import Connection


def document_json(extra: str = "", *, public: bool = False) -> str:
    """The representation of document `d` as SQL JSON; `extra` adds key/value pairs."""
    return f"""json_build_object({extra}
    'id', d.id, 'title', d.title, 'kind', d.kind, 'issuer_id', d.issuer_id,
    'author_id', d.author_id, 'recipient', d.recipient, 'dated_on', d.dated_on,
    'surfaced_via', d.surfaced_via, 'summary', d.summary, 'body_text', d.body_text,
    'language', d.language, 'sha256', d.sha256,
    'appearances', {appearances.appearances_json("document_id", "d.id")},
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

INSERT_DOCUMENT = """
INSERT INTO documents (id, title, kind, issuer_id, author_id, recipient, dated_on,
    surfaced_via, summary, body_text, language, sha256, tags, visibility)
VALUES (coalesce($1, gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
RETURNING id
"""

# The query in every language the record holds, prefixes included (migration 0008).
MATCHES_TEXT = "d.search @@ search_query({}, {}::text[])"


async def insert(conn: Connection, data: DocumentCreate, id: UUID | None) -> UUID:
    new_id: UUID = await conn.fetchval(
        INSERT_DOCUMENT,
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
    )
    await appearances.insert(conn, "document_id", new_id, data.appearances)
    return new_id
