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
