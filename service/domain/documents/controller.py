"""HTTP routes for documents."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import JSONBody, QueryParameter

from service.domain.documents.schemas import (
    Document,
    DocumentCreate,
    DocumentKind,
    DocumentPage,
    DocumentPatch,
)
from service.domain.documents.service import document_service as service
from service.domain.history.schemas import HistoryPage
from service.domain.subjects import Verdict
from service.kit.db import ReadDb, WriteTx
from service.web import http
from service.web.auth import Actor, AudienceDep, public_read, requires_write


class DocumentController(Controller):
    path = "/v1/documents"
    tags = ["Documents"]
    guards = [public_read]

    @post(
        "/",
        guards=[requires_write],
        operation_id="CreateDocument",
        summary="Create a document",
        responses=http.responses(http.CREATE),
        response_headers=[http.ETAG_HEADER, http.LOCATION_HEADER],
    )
    async def create_document(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[DocumentCreate],
        tx: WriteTx,
        actor: Actor,
    ) -> Response[Document]:
        created = await service.create(tx, data, actor)
        return http.entity_response(
            request,
            created,
            status_code=201,
            headers=http.location(request, f"{self.path}/{created.id}"),
        )

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
            issuer_id=issuer_id,
            kind=kind,
            verdict=verdict,
            audience=audience,
            cursor=cursor,
            limit=limit,
        )
        return DocumentPage(items=page.items, next_cursor=page.next_cursor)

    @get(
        "/{id:uuid}",
        operation_id="GetDocument",
        summary="Get a document",
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=[http.ETAG_HEADER],
    )
    async def get_document(
        self,
        request: Request[Any, Any, Any],
        db: ReadDb,
        audience: AudienceDep,
        id: http.ResourceId,
    ) -> Response[Document]:
        return http.entity_response(request, await service.get(db, id, audience))

    @patch(
        "/{id:uuid}",
        guards=[requires_write],
        operation_id="UpdateDocument",
        summary="Change a document (If-Match required)",
        responses=http.responses(http.UPDATE),
        response_headers=[http.ETAG_HEADER],
    )
    async def update_document(
        self,
        request: Request[Any, Any, Any],
        tx: WriteTx,
        actor: Actor,
        id: http.ResourceId,
        data: JSONBody[DocumentPatch],
        if_match: http.IfMatchHeader = None,
    ) -> Response[Document]:
        updated = await service.update(tx, id, data, http.IfMatch(if_match), actor)
        return http.entity_response(request, updated)

    @delete(
        "/{id:uuid}",
        guards=[requires_write],
        operation_id="DeleteDocument",
        summary="Delete a document (soft; If-Match required)",
        responses=http.responses(http.DELETE),
    )
    async def delete_document(
        self, tx: WriteTx, actor: Actor, id: http.ResourceId, if_match: http.IfMatchHeader = None
    ) -> None:
        await service.delete(tx, id, http.IfMatch(if_match), actor)

    @get(
        "/{id:uuid}/history",
        operation_id="ListDocumentHistory",
        summary="Every change to a document, oldest first",
        responses=http.responses(http.HISTORY),
    )
    async def list_document_history(
        self,
        db: ReadDb,
        audience: AudienceDep,
        id: http.ResourceId,
        cursor: http.Cursor = None,
        limit: http.Limit = 25,
    ) -> HistoryPage:
        return await service.history(db, id, cursor, limit, audience)
