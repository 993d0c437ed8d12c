"""GET /v1/documents/{id}/record and GET /v1/statements/{id}/record."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get

from service.views.records.schemas import DocumentRecord, StatementRecord
from service.views.records.service import document_record, statement_record
from service.web import http
from service.web.auth import Audience, AudienceDep, public_read
from service.web.memory_answers import PUBLIC_READER
from service.web.read_cache import cached_entity


# The handlers take no `db`: the public's records usually come from the read cache,
# without a connection (service/web/read_cache.py); `opt` says how a public miss is read
# before the pipeline (service/web/memory_answers.py).
class RecordController(Controller):
    path = "/v1"
    tags = ["Records"]
    guards = [public_read]

    @get(
        "/documents/{id:uuid}/record",
        operation_id="GetDocumentRecord",
        summary="The whole story of a document in one call",
        description=(
            "The document with its verification, every assessment (newest first, superseded "
            "and retracted included), the corroborating organizations, every related "
            "statement or document with its own verification, and a time-sorted timeline."
        ),
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=[http.ETAG_HEADER],
        opt={PUBLIC_READER: lambda db, params: document_record(db, params["id"], Audience.PUBLIC)},
    )
    async def get_document_record(
        self,
        request: Request[Any, Any, Any],
        audience: AudienceDep,
        id: http.ResourceId,
    ) -> Response[DocumentRecord]:
        return await cached_entity(request, audience, lambda db: document_record(db, id, audience))

    @get(
        "/statements/{id:uuid}/record",
        operation_id="GetStatementRecord",
        summary="The whole story of a statement in one call",
        description=(
            "The statement with its speaker and verification, every assessment (newest "
            "first), the corroborating organizations, every related statement or document "
            "with its own verification, and a time-sorted timeline."
        ),
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=[http.ETAG_HEADER],
        opt={PUBLIC_READER: lambda db, params: statement_record(db, params["id"], Audience.PUBLIC)},
    )
    async def get_statement_record(
        self,
        request: Request[Any, Any, Any],
        audience: AudienceDep,
        id: http.ResourceId,
    ) -> Response[StatementRecord]:
        return await cached_entity(request, audience, lambda db: statement_record(db, id, audience))
