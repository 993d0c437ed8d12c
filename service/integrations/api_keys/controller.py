"""HTTP routes for API keys (admin only)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import JSONBody

from service.integrations.api_keys.schemas import ApiKey, ApiKeyCreate, ApiKeyPage, NewApiKey
from service.integrations.api_keys.service import create_key, get_key, list_keys, revoke_key
from service.kit.db import ReadDb, WriteTx
from service.web import http
from service.web.auth import requires_admin


class ApiKeyController(Controller):
    path = "/v1/api-keys"
    tags = ["API keys"]
    guards = [requires_admin]

    @post(
        "/",
        operation_id="CreateApiKey",
        summary="Issue an API key; its secret is in this response only",
        responses=http.responses(http.CREATE),
        response_headers=[http.LOCATION_HEADER],
    )
    async def create_api_key(
        self, request: Request[Any, Any, Any], data: JSONBody[ApiKeyCreate], tx: WriteTx
    ) -> Response[NewApiKey]:
        key = await create_key(tx, data.name, data.scopes, data.expires_at)
        return Response(
            key,
            status_code=201,
            headers={
                **http.location(request, f"{self.path}/{key.id}"),
                "Cache-Control": "no-store",
            },
        )

    @get(
        "/",
        operation_id="ListApiKeys",
        summary="List API keys, newest first (never their secrets)",
        responses=http.responses(http.LIST),
    )
    async def list_api_keys(
        self, db: ReadDb, cursor: http.Cursor = None, limit: http.Limit = 25
    ) -> ApiKeyPage:
        return await list_keys(db, cursor, limit)

    @get(
        "/{id:uuid}",
        operation_id="GetApiKey",
        summary="Get an API key (never its secret)",
        responses=http.responses(http.READ_ONE),
    )
    async def get_api_key(self, db: ReadDb, id: http.ResourceId) -> ApiKey:
        return await get_key(db, id)

    @delete(
        "/{id:uuid}",
        operation_id="RevokeApiKey",
        summary="Revoke an API key: it answers 401 from then on",
        responses=http.responses(http.READ_ONE),
    )
    async def revoke_api_key(self, tx: WriteTx, id: http.ResourceId) -> None:
        await revoke_key(tx, id)
