"""Rules for documents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from service.domain import appearances, verification
from service.domain.crud import Page, Reference, ResourceService
from service.domain.documents import repository
from service.domain.documents.schemas import Document, DocumentKind
from service.domain.history.schemas import ResourceType
from service.domain.subjects import ORGANIZATIONS, PEOPLE, Verdict
from service.kit.db import Connection
from service.kit.sql import Conditions
from service.web.auth import Audience


class DocumentService(ResourceService[Document]):
    table = repository.documents
    resource_type = ResourceType.DOCUMENT
    child_fields = frozenset({"appearances"})

    def references(self, values: dict[str, Any]) -> Sequence[Reference]:
        refs = appearances.publisher_references(values)
        if values.get("issuer_id"):
            refs.append(Reference("issuer_id", ORGANIZATIONS, values["issuer_id"]))
        if values.get("author_id"):
            refs.append(Reference("author_id", PEOPLE, values["author_id"]))
        return refs

    async def insert(self, conn: Connection, data: Any, id: UUID | None) -> UUID:
        return await repository.insert(conn, data, id)

    async def replace_children(self, conn: Connection, id: UUID, values: dict[str, Any]) -> None:
        if "appearances" in values:
            await appearances.replace(conn, "document_id", id, values["appearances"])

    async def list(
        self,
        conn: Connection,
        *,
        q: str | None,
        updated_since: datetime | None,
        tag: str | None,
        issuer_id: UUID | None,
        kind: DocumentKind | None,
        verdict: Verdict | None,
        cursor: str | None,
        limit: int,
        audience: Audience = Audience.NEWSROOM,
    ) -> Page[Document]:
        conditions = Conditions()
        if q:
            conditions.add(repository.MATCHES_TEXT, q)
        if updated_since:
            conditions.add("d.updated_at >= {}", updated_since)
        if tag:
            conditions.add("d.tags @> ARRAY[{}::text]", tag)
        if issuer_id:
            conditions.add("d.issuer_id = {}", issuer_id)
        if kind:
            conditions.add("d.kind = {}", kind)
        if verdict:
            conditions.add(verification.current_verdict_is("d.id"), verdict)
        return await self.page(conn, conditions, cursor, limit, audience)


document_service = DocumentService()
