"""What every resource shares: reading, paging, patching and soft-deleting rows whose
JSON representation the database builds, with an event in the log for each change.

A resource folder supplies its SQL (a `Table`) and its rules (a `ResourceService`
subclass); the flow of a write, with its locking, precondition and event, lives here
once.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar, cast
from uuid import UUID

import msgspec

from service.domain.history.repository import record_event
from service.domain.history.schemas import EventAction, HistoryPage, ResourceType
from service.domain.history.service import list_history
from service.domain.subjects import REFERENTS, Referent
from service.kit import text_query
from service.kit.db import Connection
from service.kit.errors import FieldError, InvalidInput, NotFound
from service.kit.sql import (
    Conditions,
    Position,
    RankedPosition,
    keyset_page,
    like_pattern,
    ranked_page,
)
from service.web.auth import Audience
from service.web.http import IfMatch, decode_cursor, trim_page

T = TypeVar("T", bound=msgspec.Struct)
# A resource's create and patch bodies.
C = TypeVar("C", bound=msgspec.Struct)
P = TypeVar("P", bound=msgspec.Struct)


class Versioned(Protocol):
    """What every resource representation carries."""

    id: UUID
    version: int
    created_at: datetime


def versioned(resource: msgspec.Struct) -> Versioned:
    return cast(Versioned, resource)


class Table(Generic[T]):
    """The SQL of one resource table whose representation is built as JSON in SQL."""

    def __init__(
        self,
        *,
        referent: Referent,
        alias: str,
        json: str,
        struct: type[T],
        from_sql: str | None = None,
        public_json: str | None = None,
        public_condition: str | None = None,
    ) -> None:
        """`public_json` and `public_condition` give what the public may see: the
        representation (when it differs, e.g. in counts) and which rows."""
        name = self.name = referent.table
        self.noun = referent.noun
        self.alias = alias
        self.struct = struct
        self.json = json
        self.from_sql = from_sql or f"{name} {alias}"
        self._list_type = list[struct]  # type: ignore[valid-type]
        self._ranked_type = tuple[list[struct], list[RankedPosition]]  # type: ignore[valid-type]
        self._select_one = f"SELECT {json} FROM {self.from_sql} WHERE {alias}.id = $1 AND {alias}.deleted_at IS NULL"
        # NO KEY UPDATE: what the UPDATE that follows takes anyway (ids never change).
        # FOR UPDATE would also block the key-share locks that foreign key checks take
        # (a verifications row naming this assessment as current), a deadlock between
        # two writers on one subject.
        self._select_for_update = f"{self._select_one} FOR NO KEY UPDATE OF {alias}"
        self.public_json = public_json or json
        self.public_condition = public_condition or "TRUE"
        self._select_public = (
            f"SELECT {self.public_json} FROM {self.from_sql} WHERE {alias}.id = $1"
            f" AND {alias}.deleted_at IS NULL AND {self.public_condition}"
        )
        self._soft_delete = f"UPDATE {name} SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING version"
        self._ever_existed = f"SELECT EXISTS (SELECT 1 FROM {name} WHERE id = $1)"

    def select_sql(self, audience: Audience = Audience.NEWSROOM) -> str:
        """The query `get` sends for one live row ($1: its id) as `audience` sees it
        (the benchmark's database ceiling sends it too)."""
        return self._select_public if audience is Audience.PUBLIC else self._select_one

    async def get(
        self,
        conn: Connection,
        id: UUID,
        *,
        lock: bool = False,
        audience: Audience = Audience.NEWSROOM,
    ) -> T | None:
        if audience is Audience.PUBLIC:
            sql = self._select_public
        else:
            sql = self._select_for_update if lock else self._select_one
        raw = await conn.fetchval(sql, id)
        return None if raw is None else msgspec.json.decode(raw, type=self.struct)

    async def page(
        self,
        conn: Connection,
        conditions: Conditions,
        after: Position | None,
        limit: int,
        audience: Audience = Audience.NEWSROOM,
    ) -> list[T]:
        conditions.clauses.insert(0, f"{self.alias}.deleted_at IS NULL")
        json = self.json
        if audience is Audience.PUBLIC:
            conditions.clauses.insert(1, self.public_condition)
            json = self.public_json
        sql, args = keyset_page(json, self.from_sql, conditions, after, limit, self.alias)
        raw = await conn.fetchval(sql, *args)
        return msgspec.json.decode(raw, type=self._list_type)

    async def ranked_page(
        self,
        conn: Connection,
        rank_sql: str,
        conditions: Conditions,
        after: RankedPosition | None,
        limit: int,
    ) -> list[tuple[T, RankedPosition]]:
        """Live rows in the order of `rank_sql` (see `sql.ranked_page`), each with its
        position."""
        conditions.clauses.insert(0, f"{self.alias}.deleted_at IS NULL")
        sql, args = ranked_page(
            self.json, self.from_sql, rank_sql, conditions, after, limit, self.alias
        )
        items, positions = msgspec.json.decode(
            await conn.fetchval(sql, *args), type=self._ranked_type
        )
        return list(zip(items, positions, strict=True))

    async def update_columns(self, conn: Connection, id: UUID, values: dict[str, Any]) -> None:
        """Write changed columns; the row's trigger bumps version and updated_at even
        when only child rows changed and `values` is empty."""
        assignments = ["updated_at = now()"]
        args: list[Any] = [id]
        for column, value in values.items():
            args.append(value)
            assignments.append(f"{column} = ${len(args)}")
        await conn.execute(f"UPDATE {self.name} SET {', '.join(assignments)} WHERE id = $1", *args)

    async def soft_delete(self, conn: Connection, id: UUID) -> int | None:
        version: int | None = await conn.fetchval(self._soft_delete, id)
        return version

    async def ever_existed(self, conn: Connection, id: UUID) -> bool:
        """True for live and soft-deleted rows alike."""
        return bool(await conn.fetchval(self._ever_existed, id))


# FOR SHARE: a referenced row cannot be deleted until the referring write commits.
_LIVE_IDS = {
    referent: f"SELECT id FROM {referent.table} WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL FOR SHARE"
    for referent in REFERENTS
}


async def live_ids(conn: Connection, referent: Referent, ids: Iterable[UUID]) -> set[UUID]:
    """Which of `ids` are live rows of `referent`'s table, share-locked until commit."""
    return {r["id"] for r in await conn.fetch(_LIVE_IDS[referent], list(set(ids)))}


def checked_write_sql(
    *,
    alias: str,
    write: str,
    children: Sequence[str],
    event: str,
    json: str,
    references: Sequence[tuple[Referent, str]],
) -> str:
    """One statement that checks a resource's references, writes its row, its children
    and its event, and returns its representation: one round trip where the flow of
    `ResourceService.create` (or `apply`) takes four or more.

    `references` pairs each referent with the parameter holding the (distinct) ids
    wanted from it; those that are live are share-locked, as `live_ids` does, and come
    back as `live_<table>` so that the caller can name the missing ones. `write` is the
    resource's `INSERT ... SELECT ... FROM checked WHERE checked.ok RETURNING *` (or
    `UPDATE ... FROM checked WHERE checked.ok AND ... RETURNING <table>.*`): it writes
    nothing unless every reference is live. It becomes the CTE `alias`, which `children`
    (CTEs, named by their own text), `event` and `json` read. `json` builds the
    representation from `alias` and the children's CTEs: the statement's snapshot
    predates its own writes, so it cannot read them back from the tables.
    """
    live = [
        f"""live_{referent.table} AS (
    SELECT coalesce(array_agg(l.id), '{{}}') AS ids FROM (
        SELECT id FROM {referent.table}
        WHERE id = ANY({param}::uuid[]) AND deleted_at IS NULL FOR SHARE) AS l)"""
        for referent, param in references
    ]
    tables = ", ".join(f"live_{referent.table}" for referent, _ in references)
    ok = " AND ".join(
        f"cardinality(live_{referent.table}.ids) = cardinality({param}::uuid[])"
        for referent, param in references
    )
    columns = ", ".join(
        f"live_{referent.table}.ids AS live_{referent.table}" for referent, _ in references
    )
    ctes = ",\n".join(
        [
            *live,
            f"checked AS (SELECT {ok or 'true'} AS ok{f' FROM {tables}' if tables else ''})",
            f"{alias} AS ({write})",
            *children,
            f"event AS ({event})",
        ]
    )
    return f"""WITH {ctes}
SELECT (SELECT {json} FROM {alias}) AS written{f", {columns}" if columns else ""}
FROM checked{f", {tables}" if tables else ""}"""


def update_sql(table: Table[Any], columns: Sequence[str], first: int) -> str:
    """The `write` of `checked_write_sql` for a PATCH of row $1: `columns` set from the
    parameters from `first` on. It always sets a column, so that the row's trigger bumps
    its version when only its children change."""
    assignments = ["updated_at = now()", *(f"{c} = ${first + i}" for i, c in enumerate(columns))]
    return (
        f"UPDATE {table.name} SET {', '.join(assignments)} FROM checked"
        f" WHERE checked.ok AND {table.name}.id = $1 RETURNING {table.name}.*"
    )


async def checked_write(
    conn: Connection, sql: str, args: Sequence[Any], referents: Sequence[Referent]
) -> tuple[str | None, dict[Referent, set[UUID]]]:
    """Run a `checked_write_sql` statement whose references are `referents`: the
    representation written (None when a reference was not live, and nothing was written)
    and the live ids of each referent."""
    row = await conn.fetchrow(sql, *args)
    assert row is not None  # one row, from `checked`, whatever was written
    return row["written"], {r: set(row[f"live_{r.table}"]) for r in referents}


def distinct_ids(wanted: Sequence[Reference], referents: Sequence[Referent]) -> list[list[UUID]]:
    """The distinct ids `wanted` names in each of `referents`, in that order: the
    parameters of `checked_write_sql`'s references."""
    return [list({r.id for r in wanted if r.referent is referent}) for referent in referents]


def refuse_missing(wanted: Sequence[Reference], live: dict[Referent, set[UUID]]) -> None:
    """422 naming every field of `wanted` whose id is not among the live ones."""
    errors = [
        FieldError(field=ref.field, message=f"no live {ref.referent.noun} with id {ref.id}")
        for ref in wanted
        if ref.id not in live[ref.referent]
    ]
    if errors:
        raise InvalidInput("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)


class Page(Generic[T]):
    def __init__(self, items: list[T], next_cursor: str | None) -> None:
        self.items = items
        self.next_cursor = next_cursor


class Reference(msgspec.Struct, frozen=True):
    """A field of a request that names another resource, which must exist and be live."""

    field: str
    referent: Referent
    id: UUID


def patch_values(patch: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body actually set (UNSET ones are left alone)."""
    return {
        name: value
        for name in patch.__struct_fields__
        if (value := getattr(patch, name)) is not msgspec.UNSET
    }


class ResourceService(ABC, Generic[T, C, P]):
    """The write flow shared by every resource (`T` its representation, `C` its create
    body, `P` its patch body); subclasses add columns and rules."""

    table: Table[T]
    resource_type: ResourceType
    child_fields: frozenset[str] = frozenset()

    async def get(self, conn: Connection, id: UUID, audience: Audience = Audience.NEWSROOM) -> T:
        """The live resource as this audience may see it; 404 otherwise."""
        found = await self.table.get(conn, id, audience=audience)
        if found is None:
            raise NotFound(f"no {self.table.noun} with id {id}")
        return found

    async def history(
        self, conn: Connection, id: UUID, cursor: str | None, limit: int, audience: Audience
    ) -> HistoryPage:
        """Every change to the resource, oldest first. The newsroom sees the history of
        deleted resources too; the public only that of resources it may see now."""
        if audience is Audience.PUBLIC:
            await self.get(conn, id, audience)
        return await list_history(conn, self.resource_type, id, cursor, limit)

    async def page(
        self,
        conn: Connection,
        conditions: Conditions,
        cursor: str | None,
        limit: int,
        audience: Audience = Audience.NEWSROOM,
    ) -> Page[T]:
        after = decode_cursor(cursor, Position)
        items = await self.table.page(conn, conditions, after, limit, audience)
        items, next_cursor = trim_page(
            items,
            limit,
            lambda item: Position(created_at=(v := versioned(item)).created_at, id=v.id),
        )
        return Page(items, next_cursor)

    # ---- hooks for subclasses ---------------------------------------------------------

    def references(self, values: dict[str, Any]) -> Sequence[Reference]:
        """The other resources these (create or patch) values point at."""
        return ()

    async def insert(self, conn: Connection, data: C, id: UUID | None) -> UUID:
        """Insert the row and its children; return the id. `create` calls it; a
        resource that overrides `create` (one statement: `checked_write_sql`) needs none."""
        raise NotImplementedError(f"{type(self).__name__} must implement insert or create")

    async def replace_children(self, conn: Connection, id: UUID, values: dict[str, Any]) -> None:
        """Rewrite child rows (affiliations, appearances) named in `values`."""

    # ---- the write flow --------------------------------------------------------------

    async def check_references(self, conn: Connection, values: dict[str, Any]) -> None:
        wanted = self.references(values)
        if not wanted:
            return
        live: dict[Referent, set[UUID]] = {}
        for referent in dict.fromkeys(ref.referent for ref in wanted):
            live[referent] = await live_ids(
                conn, referent, (r.id for r in wanted if r.referent is referent)
            )
        refuse_missing(wanted, live)

    async def create(
        self, conn: Connection, data: C, actor: str | None, *, id: UUID | None = None
    ) -> T:
        """Insert a resource and its `created` event; `id` is for fixed example ids."""
        await self.check_references(conn, msgspec.structs.asdict(data))
        new_id = await self.insert(conn, data, id)
        created = await self.get(conn, new_id)
        await record_event(
            conn, self.resource_type, new_id, EventAction.CREATED, versioned(created).version, actor
        )
        return created

    async def update(
        self,
        conn: Connection,
        id: UUID,
        patch: P,
        if_match: IfMatch,
        actor: str | None,
    ) -> T:
        """Apply a PATCH under a row lock after checking If-Match against the current
        representation; a PATCH that changes nothing writes nothing."""
        current = await self.table.get(conn, id, lock=True)
        if current is None:
            raise NotFound(f"no {self.table.noun} with id {id}")
        if_match.check(current)
        changes = {
            name: value
            for name, value in patch_values(patch).items()
            if value != getattr(current, name)
        }
        if not changes:
            return current
        return await self.apply(conn, id, changes, actor)

    async def apply(
        self, conn: Connection, id: UUID, changes: dict[str, Any], actor: str | None
    ) -> T:
        """Write `changes` (fields that differ from the locked current row), their
        references checked, with an `updated` event; the new representation."""
        await self.check_references(conn, changes)
        columns = {k: v for k, v in changes.items() if k not in self.child_fields}
        await self.table.update_columns(conn, id, columns)
        await self.replace_children(
            conn, id, {k: v for k, v in changes.items() if k in self.child_fields}
        )
        updated = await self.get(conn, id)
        await record_event(
            conn,
            self.resource_type,
            id,
            EventAction.UPDATED,
            versioned(updated).version,
            actor,
            sorted(changes),
        )
        return updated

    async def delete(
        self, conn: Connection, id: UUID, if_match: IfMatch, actor: str | None
    ) -> None:
        """Soft-delete: the row stays, leaves every list, and a `deleted` event is logged."""
        current = await self.table.get(conn, id, lock=True)
        if current is None:
            raise NotFound(f"no {self.table.noun} with id {id}")
        if_match.check(current)
        version = await self.table.soft_delete(conn, id)
        assert version is not None  # the row is locked and live
        # Deleting a statement or a document takes its relations with it: the database
        # does that on this event (migration 0007).
        await record_event(conn, self.resource_type, id, EventAction.DELETED, version, actor)


class NamedResourceService(ResourceService[T, C, P]):
    """A resource that callers find by name (organizations, people): its list matches
    `q` against names with typos forgiven, best match first; without `q`, newest first."""

    # The repository's name condition: {0} is the query, {1} its ILIKE pattern.
    name_match: str
    # The repository's `rank` of each row (a join, `sql.ranked_page`): {0} is the query,
    # {1} its `word*` prefixes.
    name_rank: str

    async def list(
        self,
        conn: Connection,
        *,
        q: str | None,
        updated_since: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> Page[T]:
        conditions = Conditions()
        if updated_since:
            conditions.add(f"{self.table.alias}.updated_at >= {{}}", updated_since)
        if not q:
            return await self.page(conn, conditions, cursor, limit)
        after = decode_cursor(cursor, RankedPosition)
        parsed = text_query.parse(q)
        # Trigrams ignore the `*`; what the prefixes add is their own tier in the rank.
        text = " ".join([parsed.text, *parsed.prefixes]).strip() or q
        query, prefixes = conditions.param(text), conditions.param(parsed.prefixes)
        conditions.add(self.name_match.format(query, "{}"), like_pattern(text))
        rows = await self.table.ranked_page(
            conn, self.name_rank.format(query, prefixes), conditions, after, limit
        )
        page, next_cursor = trim_page(rows, limit, lambda row: row[1])
        return Page([item for item, _ in page], next_cursor)
