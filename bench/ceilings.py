"""The two ceilings every endpoint is compared with, served like the service itself.

- **framework**: a bare Litestar app whose one route returns a small msgspec Struct. No
  database, no middleware: what Litestar and granian cost on this machine, the most
  requests a second any Litestar endpoint could reach.
- **asyncpg**: a raw ASGI callable (no framework) that fetches the same statement the
  service's `GET /v1/statements/{id}` reads, with the same SQL, through an asyncpg pool
  of the same size, and sends the JSON text back. Its pool is as cheap as asyncpg can
  be (no reset query on release, connections never recycled under load): the most a
  one-row read could reach with the database and the driver of this service.

Both run under `service.__main__.granian_server`, the very settings of `serve` (same
worker count, interface and logging). Run one with:

    python -m bench.ceilings framework|asyncpg --port 8001 --workers 2

(`asyncpg` reads DATABASE_URL and DB_POOL_MAX_SIZE as the service does.)
"""

from __future__ import annotations

import argparse
import os
import uuid
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, get

from service.domain.statements.repository import statements
from service.web.auth import Audience


class Small(msgspec.Struct, kw_only=True):
    """About the size of a small resource's header fields."""

    id: uuid.UUID
    name: str
    version: int
    tags: list[str]


SMALL = Small(
    id=uuid.UUID("49fbe317-5f93-5acd-bbce-31cf32e662e2"),
    name="Verification Record",
    version=1,
    tags=["bench", "ceiling"],
)


@get("/ceiling", sync_to_thread=False)
def small() -> Small:
    return SMALL


def framework_app() -> Litestar:
    """The framework ceiling: one route, a constant Struct, nothing else."""
    return Litestar(route_handlers=[small], openapi_config=None, logging_config=None)


# ---- raw asyncpg -------------------------------------------------------------------------

# The service's own query for a published statement (service/domain/crud.py, Table.get).
STATEMENT_SQL = statements.select_sql(Audience.PUBLIC)
_PREFIX = "/statements/"


async def _no_reset(_: asyncpg.Connection) -> None:
    """Release without a reset query (asyncpg still rolls back an open transaction)."""


def asyncpg_app() -> Any:
    """The database ceiling: GET /statements/{id} -> the statement's JSON, from asyncpg."""
    dsn = os.environ["DATABASE_URL"]
    size = int(os.environ.get("DB_POOL_MAX_SIZE", "16"))
    pool: asyncpg.Pool | None = None
    not_found = {
        "type": "http.response.start",
        "status": 404,
        "headers": [(b"content-type", b"text/plain")],
    }

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal pool
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    pool = await asyncpg.create_pool(
                        dsn,
                        min_size=size,
                        max_size=size,
                        max_queries=10_000_000,
                        reset=_no_reset,
                        server_settings={"jit": "off"},
                    )
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if pool is not None:
                        await pool.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert pool is not None
        path: str = scope["path"]
        try:
            id = uuid.UUID(path.removeprefix(_PREFIX)) if path.startswith(_PREFIX) else None
        except ValueError:
            id = None
        body = None
        if id is not None:
            async with pool.acquire() as conn:
                body = await conn.fetchval(STATEMENT_SQL, id)
        if body is None:
            await send(not_found)
            await send({"type": "http.response.body", "body": b""})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})

    return app


def main(argv: list[str] | None = None) -> None:
    from service.__main__ import granian_server

    parser = argparse.ArgumentParser(prog="python -m bench.ceilings", description=__doc__)
    parser.add_argument("ceiling", choices=["framework", "asyncpg"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    target = {"framework": "bench.ceilings:framework_app", "asyncpg": "bench.ceilings:asyncpg_app"}
    granian_server(
        target[args.ceiling],
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
    ).serve()


if __name__ == "__main__":
    main()
