"""SQL for relations.

Each end is stored in one of two foreign-key columns (`*_statement_id` or
`*_document_id`) so that the database guarantees it exists; the generated columns
`source_type`/`source_id` and `target_type`/`target_id` give every read one place to
look whichever column holds the end.
"""

from __future__ import annotations

from uuid import UUID

from service.domain.crud import Table
from service.domain.relations.schemas import Relation, RelationCreate
from service.domain.subjects import RELATIONS, SubjectRef, SubjectType
from service.domain.visibility import PUBLISHED_RELATION
from service.kit.db import Connection

RELATION_JSON = """json_build_object(
    'id', r.id,
    'source', json_build_object('type', r.source_type, 'id', r.source_id),
    'type', r.type,
    'target', json_build_object('type', r.target_type, 'id', r.target_id),
    'note', r.note,
    'version', r.version, 'created_at', r.created_at, 'updated_at', r.updated_at)"""

relations = Table(
    referent=RELATIONS,
    alias="r",
    json=RELATION_JSON,
    struct=Relation,
    public_condition=PUBLISHED_RELATION,
)

INSERT_RELATION = """
INSERT INTO relations (id, source_statement_id, source_document_id, type,
    target_statement_id, target_document_id, note)
VALUES (coalesce($1, gen_random_uuid()), $2, $3, $4, $5, $6, $7)
RETURNING id
"""

# The partial unique index that allows one live relation per (source, type, target).
UNIQUE_LIVE_INDEX = "relations_unique_live"


def _columns(end: SubjectRef) -> tuple[UUID | None, UUID | None]:
    """The (statement id, document id) pair of an end: exactly one is set."""
    if end.type is SubjectType.STATEMENT:
        return end.id, None
    return None, end.id


async def insert(conn: Connection, data: RelationCreate, id: UUID | None) -> UUID:
    """Insert a relation; raises asyncpg.UniqueViolationError when the same live
    (source, type, target) exists, committed or in a concurrent transaction."""
    new_id: UUID = await conn.fetchval(
        INSERT_RELATION, id, *_columns(data.source), data.type, *_columns(data.target), data.note
    )
    return new_id
