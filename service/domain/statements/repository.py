"""SQL for statements."""

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
from service.domain.history.repository import event_sql
from service.domain.history.schemas import EventAction, ResourceType
from service.domain.statements.schemas import Statement, StatementCreate
from service.domain.subjects import ORGANIZATIONS, PEOPLE, STATEMENTS, Referent
from service.domain.verification import verification_json
from service.domain.visibility import PUBLISHED_STATEMENT
from service.kit.db import Connection


def statement_json(
    extra: str = "", *, public: bool = False, appearances_from: str = "appearances"
) -> str:
    """The representation of statement `s` as SQL JSON; `extra` adds key/value pairs;
    `appearances_from` is where its appearances are read (`appearances.appearances_json`)."""
    return f"""json_build_object({extra}
    'id', s.id, 'speaker_id', s.speaker_id, 'text', s.text, 'said_at', s.said_at,
    'medium', s.medium, 'context', s.context, 'language', s.language,
    'appearances', {appearances.appearances_json("statement_id", "s.id", appearances_from)},
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

# What a write of a statement checks: the speaker and the publishers.
REFERENTS = (PEOPLE, ORGANIZATIONS)

# The references checked, the statement, its appearances and its event inserted, and its
# representation built, in one round trip (`crud.checked_write_sql`).
CREATE_STATEMENT = checked_write_sql(
    alias="s",
    write="""INSERT INTO statements
        (id, speaker_id, text, said_at, medium, context, language, tags, visibility)
    SELECT coalesce($1::uuid, gen_random_uuid()), $2::uuid, $3::text, $4::timestamptz,
        $5::statement_medium, $6::text, $7::text, $8::text[], $9::visibility
    FROM checked WHERE checked.ok
    RETURNING *""",
    children=[appearances.insert_cte("statement_id", "s", 10)],
    event=event_sql(ResourceType.STATEMENT, EventAction.CREATED, "s", "$14"),
    json=statement_json(appearances_from=appearances.NEW),
    references=[(PEOPLE, "$15"), (ORGANIZATIONS, "$16")],
)

# The query in every language the record holds, prefixes included (migration 0008).
MATCHES_TEXT = "s.search @@ search_query({}, {}::text[])"


async def create(
    conn: Connection,
    data: StatementCreate,
    id: UUID | None,
    actor: str | None,
    wanted: Sequence[Reference],
) -> tuple[str | None, dict[Referent, set[UUID]]]:
    """Create the statement in one statement (`CREATE_STATEMENT`): its representation
    as JSON, or None when a reference in `wanted` is not live, and which were live."""
    args = [
        id,
        data.speaker_id,
        data.text,
        data.said_at,
        data.medium,
        data.context,
        data.language,
        data.tags,
        data.visibility,
        *appearances.arrays(data.appearances),
        actor,
        *distinct_ids(wanted, REFERENTS),
    ]
    return await checked_write(conn, CREATE_STATEMENT, args, REFERENTS)


async def update(
    conn: Connection,
    id: UUID,
    columns: dict[str, Any],
    new_appearances: Sequence[appearances.Appearance] | None,
    changed: list[str],
    actor: str | None,
    wanted: Sequence[Reference],
) -> tuple[str | None, dict[Referent, set[UUID]]]:
    """Change the locked statement `id` in one statement (`appearances.update_with_appearances`)."""
    return await appearances.update_with_appearances(
        conn,
        statements,
        ResourceType.STATEMENT,
        "statement_id",
        statement_json,
        REFERENTS,
        id,
        columns,
        new_appearances,
        changed,
        actor,
        wanted,
    )
