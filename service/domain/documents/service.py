"""Rules for documents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from service.domain.appearances import Appearance
from service.domain.crud import Page, Reference
from service.domain.documents import repository
from service.domain.documents.schemas import Document, DocumentCreate, DocumentKind, DocumentPatch
from service.domain.history.schemas import ResourceType
from service.domain.subject_service import SubjectService
from service.domain.subjects import ORGANIZATIONS, PEOPLE, Referent, Verdict
from service.kit.db import Connection
from service.web.auth import Audience


class DocumentService(SubjectService[Document, DocumentCreate, DocumentPatch]):
    table = repository.documents
    resource_type = ResourceType.DOCUMENT
    owner = "document_id"
    text_match = repository.MATCHES_TEXT

    def references(self, values: dict[str, Any]) -> Sequence[Reference]:
        refs = list(super().references(values))
        if values.get("issuer_id"):
            refs.append(Reference("issuer_id", ORGANIZATIONS, values["issuer_id"]))
        if values.get("author_id"):
            refs.append(Reference("author_id", PEOPLE, values["author_id"]))
        return refs

    async def create_row(
        self,
        conn: Connection,
        data: DocumentCreate,
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
        issuer_id: UUID | None,
        kind: DocumentKind | None,
        verdict: Verdict | None,
        cursor: str | None,
        limit: int,
        audience: Audience = Audience.NEWSROOM,
    ) -> Page[Document]:
        conditions = self.shared_conditions(
            q=q, updated_since=updated_since, tag=tag, verdict=verdict, language=language
        )
        if issuer_id:
            conditions.add("d.issuer_id = {}", issuer_id)
        if kind:
            conditions.add("d.kind = {}", kind)
        return await self.page(conn, conditions, cursor, limit, audience)


document_service = DocumentService()
