"""HTTP routes for statements."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Response, get
from litestar.params import QueryParameter

from service.domain.routes import ResourceController, ResourceRoutes
from service.domain.statements.schemas import (
    Statement,
    StatementCreate,
    StatementPage,
    StatementPatch,
)
from service.domain.statements.service import statement_service as service
from service.domain.subjects import Verdict
from service.kit.db import Connection
from service.web import http
from service.web.auth import AudienceDep, public_read
from service.web.read_cache import cached_page
from service.web.transactions import read_connection

STATEMENT_ROUTES = ResourceRoutes(
    name="Statement",
    function="statement",
    noun="a statement",
    service=service,
    struct=Statement,
    create=StatementCreate,
    patch=StatementPatch,
)


class StatementController(ResourceController, routes=STATEMENT_ROUTES):
    path = "/v1/statements"
    tags = ["Statements"]
    guards = [public_read]

    @get(
        "/",
        operation_id="ListStatements",
        summary="List statements, newest first",
        description=(
            "Statements newest first, filtered by every parameter given. For anonymous "
            "callers and `read` keys a page of one speaker's statements (`speaker_id` "
            "with `limit` and `cursor` only) comes from memory, kept current: a "
            "statement created, changed, moved or deleted shows on every page it moves "
            "as soon as it commits."
        ),
        responses=http.responses(http.LIST),
    )
    async def list_statements(
        self,
        request: Request[Any, Any, Any],
        audience: AudienceDep,
        q: http.FullText = None,
        updated_since: http.UpdatedSince = None,
        tag: http.TagFilter = None,
        language: http.LanguageFilter = None,
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
    ) -> Response[StatementPage]:
        async def read(db: Connection) -> StatementPage:
            page = await service.list(
                db,
                q=q,
                updated_since=updated_since,
                tag=tag,
                language=language,
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

        # A speaker's statements, the public's most asked list, are cached: every change
        # that can move such a page announces the speaker (migration 0019). Only with
        # no other filter, whose changes nothing announces.
        other_filters = (q, updated_since, tag, language, said_after, said_before, verdict)
        if speaker_id is not None and related_to is None and all(f is None for f in other_filters):
            return await cached_page(request, audience, read, also=[str(speaker_id).encode()])
        async with read_connection(request.app.state, request, audience) as db:
            return Response(await read(db))
