"""HTTP routes for statements."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import JSONBody, QueryParameter

from service.domain.history.schemas import HistoryPage
from service.domain.statements.schemas import (
    Statement,
    StatementCreate,
    StatementPage,
    StatementPatch,
)
from service.domain.statements.service import statement_service as service
from service.domain.subjects import Verdict
from service.kit.db import ReadDb, WriteTx
from service.web import http
from service.web.auth import Actor, AudienceDep, public_read, requires_write


class StatementController(Controller):
    path = "/v1/statements"
    tags = ["Statements"]
    guards = [public_read]

    @post(
        "/",
        guards=[requires_write],
        operation_id="CreateStatement",
        summary="Create a statement",
        responses=http.responses(http.CREATE),
        response_headers=[http.ETAG_HEADER, http.LOCATION_HEADER],
    )
    async def create_statement(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[StatementCreate],
        tx: WriteTx,
        actor: Actor,
    ) -> Response[Statement]:
        created = await service.create(tx, data, actor)
        return http.entity_response(
            request,
            created,
            status_code=201,
            headers=http.location(request, f"{self.path}/{created.id}"),
        )

    @get(
        "/",
        operation_id="ListStatements",
        summary="List statements, newest first",
        responses=http.responses(http.LIST),
    )
    async def list_statements(
        self,
        db: ReadDb,
        audience: AudienceDep,
        q: http.FullText = None,
        updated_since: http.UpdatedSince = None,
        tag: http.TagFilter = None,
        speaker_id: Annotated[
            UUID | None, QueryParameter(description="Only statements by this person.")
        ] = None,
        said_after: Annotated[
            datetime | None, QueryParameter(description="Only statements said after this time.")
        ] = None,
        said_before: Annotated[
            datetime | None, QueryParameter(description="Only statements said before this time.")
        ] = None,
        verdict: Annotated[
            Verdict | None,
            QueryParameter(description="Only statements whose current published verdict is this."),
        ] = None,
        related_to: Annotated[
            UUID | None,
            QueryParameter(description="Only statements related to this document or statement."),
        ] = None,
        cursor: http.Cursor = None,
        limit: http.Limit = 25,
    ) -> StatementPage:
        page = await service.list(
            db,
            q=q,
            updated_since=updated_since,
            tag=tag,
            speaker_id=speaker_id,
            said_after=said_after,
            said_before=said_before,
            verdict=verdict,
            related_to=related_to,
            audience=audience,
            cursor=cursor,
            limit=limit,
        )
        return StatementPage(items=page.items, next_cursor=page.next_cursor)

    @get(
        "/{id:uuid}",
        operation_id="GetStatement",
        summary="Get a statement",
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=[http.ETAG_HEADER],
    )
    async def get_statement(
        self,
        request: Request[Any, Any, Any],
        db: ReadDb,
        audience: AudienceDep,
        id: http.ResourceId,
    ) -> Response[Statement]:
        return http.entity_response(request, await service.get(db, id, audience))

    @patch(
        "/{id:uuid}",
        guards=[requires_write],
        operation_id="UpdateStatement",
        summary="Change a statement (If-Match required)",
        responses=http.responses(http.UPDATE),
        response_headers=[http.ETAG_HEADER],
    )
    async def update_statement(
        self,
        request: Request[Any, Any, Any],
        tx: WriteTx,
        actor: Actor,
        id: http.ResourceId,
        data: JSONBody[StatementPatch],
        if_match: http.IfMatchHeader = None,
    ) -> Response[Statement]:
        updated = await service.update(tx, id, data, http.IfMatch(if_match), actor)
        return http.entity_response(request, updated)

    @delete(
        "/{id:uuid}",
        guards=[requires_write],
        operation_id="DeleteStatement",
        summary="Delete a statement (soft; If-Match required)",
        responses=http.responses(http.DELETE),
    )
    async def delete_statement(
        self, tx: WriteTx, actor: Actor, id: http.ResourceId, if_match: http.IfMatchHeader = None
    ) -> None:
        await service.delete(tx, id, http.IfMatch(if_match), actor)

    @get(
        "/{id:uuid}/history",
        operation_id="ListStatementHistory",
        summary="Every change to a statement, oldest first",
        responses=http.responses(http.HISTORY),
    )
    async def list_statement_history(
        self,
        db: ReadDb,
        audience: AudienceDep,
        id: http.ResourceId,
        cursor: http.Cursor = None,
        limit: http.Limit = 25,
    ) -> HistoryPage:
        return await service.history(db, id, cursor, limit, audience)
