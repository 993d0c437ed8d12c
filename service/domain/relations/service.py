"""Rules for relations: both ends are live statements or documents, an end is not
related to itself, and the same (source, type, target) is live at most once.

The database holds the same rules (foreign keys, CHECKs and the partial unique index
`relations_unique_live`); the checks here come first so that the caller gets a 422
naming the field or a 409 that says what clashed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from service.domain.crud import Page, Reference, ResourceService
from service.domain.history.schemas import ResourceType
from service.domain.relations import repository
from service.domain.relations.schemas import Relation, RelationCreate, RelationType
from service.domain.subjects import SUBJECT_REFERENTS, SubjectRef
from service.kit.db import Connection
from service.kit.errors import Conflict, invalid_field
from service.kit.sql import Conditions
from service.web.auth import Audience


class RelationService(ResourceService[Relation, RelationCreate, msgspec.Struct]):
    table = repository.relations
    resource_type = ResourceType.RELATION

    def references(self, values: dict[str, Any]) -> Sequence[Reference]:
        # The ref's type picks the table, so a document id sent as a statement is a 422.
        refs = []
        for end in ("source", "target"):
            ref: SubjectRef | None = values.get(end)
            if ref is not None:
                refs.append(Reference(f"{end}.id", SUBJECT_REFERENTS[ref.type], ref.id))
        return refs

    async def create(
        self, conn: Connection, data: RelationCreate, actor: str | None, *, id: UUID | None = None
    ) -> Relation:
        """Create a relation and its `created` event.

        422 (naming `source.id` or `target.id`) when an end is missing, deleted or not
        of the type given, or when both ends are the same resource; 409 when the same
        live relation exists.
        """
        if data.source.id == data.target.id:
            raise invalid_field("target.id", "a resource cannot be related to itself")
        return await super().create(conn, data, actor, id=id)

    async def insert(self, conn: Connection, data: RelationCreate, id: UUID | None) -> UUID:
        # No look-before-insert: two concurrent requests would both pass it. The unique
        # index decides, and the loser waits for the winner's commit and fails here.
        # The transaction is then aborted, which is fine: the request fails as a whole.
        try:
            return await repository.insert(conn, data, id)
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name != repository.UNIQUE_LIVE_INDEX:
                raise
            raise Conflict(
                f"a live {data.type} relation from {data.source.type} {data.source.id}"
                f" to {data.target.type} {data.target.id} already exists"
            ) from None

    async def list(
        self,
        conn: Connection,
        *,
        source_id: UUID | None,
        target_id: UUID | None,
        resource_id: UUID | None,
        type: RelationType | None,
        updated_since: datetime | None,
        cursor: str | None,
        limit: int,
        audience: Audience = Audience.NEWSROOM,
    ) -> Page[Relation]:
        conditions = Conditions()
        if source_id:
            conditions.add("r.source_id = {}", source_id)
        if target_id:
            conditions.add("r.target_id = {}", target_id)
        if resource_id:
            conditions.add("(r.source_id = {0} OR r.target_id = {0})", resource_id)
        if type:
            conditions.add("r.type = {}", type)
        if updated_since:
            conditions.add("r.updated_at >= {}", updated_since)
        return await self.page(conn, conditions, cursor, limit, audience)


relation_service = RelationService()
