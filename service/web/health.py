"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import msgspec
from litestar import Controller, Request, Response, get

from service.kit.errors import DatabaseSettingsError, ServiceUnavailable
from service.web import http


class Health(msgspec.Struct, kw_only=True):
    status: str


class HealthController(Controller):
    path = "/health"
    tags = ["Health"]

    @get("/live", operation_id="CheckLiveness", summary="The process is up")
    async def live(self) -> Health:
        return Health(status="ok")

    @get(
        "/ready",
        operation_id="CheckReadiness",
        summary="The service can reach its database (503 otherwise)",
        responses=http.responses((503,)),
    )
    async def ready(self, request: Request) -> Response[Health]:  # type: ignore[type-arg]
        state = request.app.state
        if getattr(state, "shutting_down", False):
            raise ServiceUnavailable("the service is shutting down")
        try:
            async with asyncio.timeout(2):
                async with state.pool.acquire() as connection:
                    await connection.fetchval("SELECT 1")
        except DatabaseSettingsError as exc:
            # Its message (what to run) is for the log, not the probe.
            logging.getLogger("service.db").error("%s", exc)
            raise ServiceUnavailable(
                "the database lacks session settings the service needs (see the log)"
            ) from None
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            raise ServiceUnavailable("the database is unreachable") from None
        return Response(Health(status="ok"), headers={"Cache-Control": "no-store"})
