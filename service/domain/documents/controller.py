"""HTTP routes for documents."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import get
from litestar.params import QueryParameter

from service.domain.documents.schemas import (
    Document,
    DocumentCreate,
    DocumentKind,
    DocumentPage,
    DocumentPatch,
)
from service.domain.documents.service import document_service as service
from service.domain.routes import ResourceController, ResourceRoutes
from service.domain.subjects import Verdict
from service.kit.db import ReadDb
from service.web import http
from service.web.auth import AudienceDep, public_read

DOCUMENT_ROUTES = ResourceRoutes(
    name="Document",
    function="document",
    noun="a document",
    service=service,
    struct=Document,
    create=DocumentCreate,
    patch=DocumentPatch,
)


class DocumentController(ResourceController, routes=DOCUMENT_ROUTES):
    path = "/v1/documents"
    tags = ["Documents"]
    guards = [public_read]

    @get(
        "/",
        operation_id="ListDocuments",
        summary="List documents, newest first",
        responses=http.responses(http.LIST),
    )
    async def list_documents(
        self,
        db: ReadDb,
        audience: AudienceDep,
        q: http.FullText = None,
        updated_since: http.UpdatedSince = None,
        tag: http.TagFilter = None,
        language: http.LanguageFilter = None,
        issuer_id: Annotated[
            UUID | None, QueryParameter(description="Only documents this organization issued.")
        ] = None,
        kind: Annotated[
            DocumentKind | None, QueryParameter(description="Only documents of this kind.")
        ] = None,
        verdict: Annotated[
            Verdict | None,
            QueryParameter(description="Only documents whose current published verdict is this."),
        ] = None,
        cursor: http.Cursor = None,
        limit: http.Limit = 25,
    ) -> DocumentPage:
        page = await service.list(
            db,
            q=q,
            updated_since=updated_since,
            tag=tag,
            language=language,
            issuer_id=issuer_id,
            kind=kind,
            verdict=verdict,
            audience=audience,
            cursor=cursor,
            limit=limit,
        )
        return DocumentPage(items=page.items, next_cursor=page.next_cursor)
