"""Liveness and readiness probes.

They never look at `Authorization` (nor does `/metrics`): an orchestrator's probe or a
scraper that sends a stale or broken key must still learn whether the process is up,
and a bad key must not make an instance look dead. See `AUTHENTICATION_EXEMPT`."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import msgspec
from litestar import Controller, Request, Response, get

from service.kit.errors import DatabaseSettingsError, ServiceUnavailable
from service.web import http
from service.web.auth import AUTHENTICATION_EXEMPT


class Health(msgspec.Struct, kw_only=True):
    status: str


class HealthController(Controller):
    path = "/health"
    tags = ["Health"]
    opt = AUTHENTICATION_EXEMPT

    @get("/live", operation_id="CheckLiveness", summary="The process is up")
    async def live(self) -> Health:
        return Health(status="ok")

    @get(
        "/ready",
        operation_id="CheckReadiness",
        summary="The service can reach its database (503 otherwise)",
        # Not `http.responses`: a probe takes no parameters and no key, so no 400 or 401.
        responses=http.problem_responses(503),
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
