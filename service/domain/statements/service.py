"""Rules for statements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from service.domain import verification
from service.domain.appearances import Appearance
from service.domain.crud import Page, Reference
from service.domain.history.schemas import ResourceType
from service.domain.statements import repository
from service.domain.statements.schemas import Statement, StatementCreate, StatementPatch
from service.domain.subject_service import SubjectService
from service.domain.subjects import PEOPLE, Referent, Verdict
from service.domain.visibility import published_subject
from service.kit.db import Connection
from service.web.auth import Audience


class StatementService(SubjectService[Statement, StatementCreate, StatementPatch]):
    table = repository.statements
    resource_type = ResourceType.STATEMENT
    owner = "statement_id"
    text_match = repository.MATCHES_TEXT

    def references(self, values: dict[str, Any]) -> Sequence[Reference]:
        refs = list(super().references(values))
        if values.get("speaker_id"):
            refs.append(Reference("speaker_id", PEOPLE, values["speaker_id"]))
        return refs

    async def create_row(
        self,
        conn: Connection,
        data: StatementCreate,
        id: UUID | None,
        actor: str | None,
        wanted: Sequence[Reference],
    ) -> tuple[str | None, dict[Referent, set[UUID]]]:
        return await repository.create(conn, data, id, actor, wanted)

    async def update_row(
        self,
        conn: Connection,
        id: UUID,
        columns: dict[str, Any],
        new_appearances: Sequence[Appearance] | None,
        changed: list[str],
        actor: str | None,
        wanted: Sequence[Reference],
    ) -> tuple[str | None, dict[Referent, set[UUID]]]:
        return await repository.update(conn, id, columns, new_appearances, changed, actor, wanted)

    async def list(
        self,
        conn: Connection,
        *,
        q: str | None,
        updated_since: datetime | None,
        tag: str | None,
        language: str | None,
        speaker_id: UUID | None,
        said_after: datetime | None,
        said_before: datetime | None,
        verdict: Verdict | None,
        related_to: UUID | None,
        cursor: str | None,
        limit: int,
        audience: Audience = Audience.NEWSROOM,
    ) -> Page[Statement]:
        conditions = self.shared_conditions(
            q=q, updated_since=updated_since, tag=tag, verdict=verdict, language=language
        )
        if speaker_id:
            conditions.add("s.speaker_id = {}", speaker_id)
        if said_after:
            conditions.add("s.said_at > {}", said_after)
        if said_before:
            conditions.add("s.said_at < {}", said_before)
        if related_to:
            conditions.add(verification.related_to("s.id"), related_to)
            if audience is Audience.PUBLIC:
                # Relations to unpublished material are not published either.
                conditions.add(published_subject("{0}"), related_to)
        return await self.page(conn, conditions, cursor, limit, audience)


statement_service = StatementService()
