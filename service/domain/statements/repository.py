"""SQL for statements."""

from __future__ import annotations

from uuid import UUID

from service.domain import appearances
from service.domain.crud import Table
from service.domain.statements.schemas import Statement, StatementCreate
from service.domain.subjects import STATEMENTS
from service.domain.verification import verification_json
from service.domain.visibility import PUBLISHED_STATEMENT
from service.kit.db import Connection


def statement_json(extra: str = "", *, public: bool = False) -> str:
    """The representation of statement `s` as SQL JSON; `extra` adds key/value pairs."""
    return f"""json_build_object({extra}
    'id', s.id, 'speaker_id', s.speaker_id, 'text', s.text, 'said_at', s.said_at,
    'medium', s.medium, 'context', s.context, 'language', s.language,
    'appearances', {appearances.appearances_json("statement_id", "s.id")},
    'tags', s.tags, 'visibility', s.visibility,
    'verification', {verification_json("s.id", public=public)},
    'version', s.version, 'created_at', s.created_at, 'updated_at', s.updated_at)"""


STATEMENT_JSON = statement_json()

statements = Table(
    referent=STATEMENTS,
    alias="s",
    json=STATEMENT_JSON,
    struct=Statement,
    public_json=statement_json(public=True),
    public_condition=PUBLISHED_STATEMENT,
)

INSERT_STATEMENT = """
INSERT INTO statements (id, speaker_id, text, said_at, medium, context, language, tags, visibility)
VALUES (coalesce($1, gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING id
"""

# The query in every language the record holds, prefixes included (migration 0008).
MATCHES_TEXT = "s.search @@ search_query({}, {}::text[])"


async def insert(conn: Connection, data: StatementCreate, id: UUID | None) -> UUID:
    new_id: UUID = await conn.fetchval(
        INSERT_STATEMENT,
        id,
        data.speaker_id,
        data.text,
        data.said_at,
        data.medium,
        data.context,
        data.language,
        data.tags,
        data.visibility,
    )
    await appearances.insert(conn, "statement_id", new_id, data.appearances)
    return new_id
