"""Appearances: where a statement or a document was published or quoted.

Shared by statements and documents; stored in one table whose rows belong to exactly
one of the two.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from service.domain.crud import (
    Reference,
    Table,
    checked_write,
    checked_write_sql,
    distinct_ids,
    update_sql,
)
from service.domain.history.repository import event_sql
from service.domain.history.schemas import EventAction, ResourceType
from service.domain.subjects import ORGANIZATIONS, Referent
from service.kit.db import Connection
from service.kit.fields import HttpUrl, Timestamp


class Appearance(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: HttpUrl
    publisher_id: UUID | None = None
    published_at: Timestamp | None = None
    archived_url: HttpUrl | None = None


Appearances = Annotated[list[Appearance], msgspec.Meta(max_length=200)]

Owner = Literal["statement_id", "document_id"]


def appearances_json(owner: Owner, owner_sql: str, source: str = "appearances") -> str:
    """A SQL expression: the owner's appearances as a JSON array, in their order;
    `source` is where they are read: the table, or `NEW` in a statement that inserts
    them (`insert_cte`)."""
    return f"""coalesce((
        SELECT json_agg(json_build_object(
            'url', ap.url, 'publisher_id', ap.publisher_id,
            'published_at', ap.published_at, 'archived_url', ap.archived_url) ORDER BY ap.position)
        FROM {source} ap WHERE ap.{owner} = {owner_sql}), '[]')"""


# The CTE `insert_cte` names: what a statement that creates an owner inserted.
NEW = "new_appearances"


def insert_cte(owner: Owner, alias: str, first: int, *, after: str = "TRUE") -> str:
    """A CTE inserting the appearances of the owner a statement's CTE `alias` wrote,
    from four arrays starting at parameter `first` (see `arrays`), once `after` holds."""
    p = [f"${first + i}" for i in range(4)]
    return f"""{NEW} AS (
    INSERT INTO appearances ({owner}, position, url, publisher_id, published_at, archived_url)
    SELECT {alias}.id, a.ord - 1, a.url, a.publisher_id, a.published_at, a.archived_url
    FROM {alias}, unnest({p[0]}::text[], {p[1]}::uuid[], {p[2]}::timestamptz[], {p[3]}::text[])
        WITH ORDINALITY AS a (url, publisher_id, published_at, archived_url, ord)
    WHERE {after}
    RETURNING *)"""


def replace_ctes(owner: Owner, alias: str, first: int) -> list[str]:
    """CTEs replacing every appearance of the owner a statement's CTE `alias` updated.
    The new ones are inserted only once the old ones are deleted (their positions are
    unique), which reading the deletion's count forces: sibling CTEs run in no set order.
    """
    return [
        f"""old_appearances AS (
    DELETE FROM appearances WHERE {owner} = (SELECT id FROM {alias}) RETURNING 1)""",
        insert_cte(owner, alias, first, after="(SELECT count(*) FROM old_appearances) >= 0"),
    ]


def arrays(items: Sequence[Appearance]) -> list[list[Any]]:
    """The parameters of `insert_cte`: one array per column."""
    return [
        [a.url for a in items],
        [a.publisher_id for a in items],
        [a.published_at for a in items],
        [a.archived_url for a in items],
    ]


def publisher_references(values: dict[str, Any]) -> list[Reference]:
    return [
        Reference(f"appearances[{i}].publisher_id", ORGANIZATIONS, a.publisher_id)
        for i, a in enumerate(values.get("appearances") or ())
        if a.publisher_id is not None
    ]


async def update_with_appearances(
    conn: Connection,
    table: Table[Any],
    resource: ResourceType,
    owner: Owner,
    representation: Callable[..., str],
    referents: Sequence[Referent],
    id: UUID,
    columns: dict[str, Any],
    new_appearances: Sequence[Appearance] | None,
    changed: list[str],
    actor: str | None,
    wanted: Sequence[Reference],
) -> tuple[str | None, dict[Referent, set[UUID]]]:
    """Change the locked statement or document `id` in one SQL statement: `columns`,
    its appearances when `new_appearances` is given, its `updated` event naming
    `changed`; its new representation (`representation(appearances_from=...)`) as
    JSON, or None when a reference in `wanted` (of `referents`) is not live."""
    args: list[Any] = [id, actor, changed, *distinct_ids(wanted, referents)]
    children: list[str] = []
    source = "appearances"
    if new_appearances is not None:
        children = replace_ctes(owner, table.alias, len(args) + 1)
        args.extend(arrays(new_appearances))
        source = NEW
    write = update_sql(table, list(columns), len(args) + 1)
    args.extend(columns.values())
    sql = checked_write_sql(
        alias=table.alias,
        write=write,
        children=children,
        event=event_sql(resource, EventAction.UPDATED, table.alias, "$2", "$3"),
        json=representation(appearances_from=source),
        references=[(referent, f"${4 + n}") for n, referent in enumerate(referents)],
    )
    return await checked_write(conn, sql, args, referents)
