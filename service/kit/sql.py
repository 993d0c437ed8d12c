"""Composing SQL from fixed fragments with numbered parameters.

Only the fragments written in repositories ever become SQL text; every value travels
as a `$n` parameter. This is what lets list endpoints combine optional filters and
still use the right index for each combination.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec


class Conditions:
    """A WHERE clause under construction: `add("tags @> {}", ["x"])` numbers the `{}`."""

    def __init__(self, *fixed: str) -> None:
        self.clauses: list[str] = list(fixed)
        self.args: list[Any] = []

    def param(self, value: Any) -> str:
        """Bind a value and return its placeholder (`$n`). A datetime without an offset
        (a query parameter, a cursor) is UTC: the driver would read it in local time."""
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, fragment: str, *values: Any) -> None:
        self.clauses.append(fragment.format(*(self.param(v) for v in values)))

    @property
    def sql(self) -> str:
        return " AND ".join(f"({c})" for c in self.clauses) or "TRUE"


def like_pattern(text: str) -> str:
    """An ILIKE pattern matching `text` anywhere, its own wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class Position(msgspec.Struct, array_like=True, frozen=True):
    """Where a page ends in the (created_at DESC, id DESC) order every list uses."""

    created_at: datetime
    id: UUID


def keyset_page(
    select_json: str,
    from_sql: str,
    conditions: Conditions,
    after: Position | None,
    limit: int,
    alias: str,
) -> tuple[str, list[Any]]:
    """A page query in newest-first order that returns one JSON array.

    Keyset paging on the unique (created_at, id) pair means rows inserted while a
    client pages can never shift the rows it has not yet seen. One extra row is
    fetched to tell whether another page exists.
    """
    if after is not None:
        conditions.add(
            f"({alias}.created_at, {alias}.id) < ({{}}::timestamptz, {{}}::uuid)",
            after.created_at,
            after.id,
        )
    limit_param = conditions.param(limit + 1)
    sql = (
        f"SELECT coalesce(json_agg(page.doc ORDER BY page.created_at DESC, page.id DESC), '[]')"
        f" FROM (SELECT {select_json} AS doc, {alias}.created_at, {alias}.id"
        f" FROM {from_sql} WHERE {conditions.sql}"
        f" ORDER BY {alias}.created_at DESC, {alias}.id DESC LIMIT {limit_param}) AS page"
    )
    return sql, conditions.args


class RankedPosition(msgspec.Struct, array_like=True, frozen=True):
    """Where a page ends in a ranked order: (tier, score DESC, name, id), unique by id."""

    tier: int
    score: int
    name: str
    id: UUID


def ranked_page(
    select_json: str,
    from_sql: str,
    rank_sql: str,
    conditions: Conditions,
    after: RankedPosition | None,
    limit: int,
    alias: str,
) -> tuple[str, list[Any]]:
    """A page query in ranked order that returns one JSON array of two: the page's
    documents and, for each, its position (`RankedPosition`'s fields).

    `rank_sql` joins `rank` (`tier` integer, lower first; `score` integer, higher first)
    to each row of `alias`. The position after a row is the whole sort key down to the
    unique id, so paging survives any number of ties; one extra row is fetched to tell
    whether another page exists.
    """
    if after is not None:
        tier, score = conditions.param(after.tier), conditions.param(after.score)
        name, id = conditions.param(after.name), conditions.param(after.id)
        conditions.clauses.append(
            f"rank.tier > {tier}::int OR (rank.tier = {tier}::int AND (rank.score < {score}::int"
            f" OR (rank.score = {score}::int AND ({alias}.name, {alias}.id) > ({name}::text, {id}::uuid))))"
        )
    limit_param = conditions.param(limit + 1)
    order = "tier, page.score DESC, page.name, page.id"
    sql = (
        f"SELECT json_build_array("
        f"coalesce(json_agg(page.doc ORDER BY page.{order}), '[]'),"
        f" coalesce(json_agg(json_build_array(page.tier, page.score, page.name, page.id)"
        f" ORDER BY page.{order}), '[]'))"
        f" FROM (SELECT {select_json} AS doc, rank.tier, rank.score, {alias}.name, {alias}.id"
        f" FROM {from_sql} {rank_sql} WHERE {conditions.sql}"
        f" ORDER BY rank.tier, rank.score DESC, {alias}.name, {alias}.id LIMIT {limit_param}) AS page"
    )
    return sql, conditions.args
