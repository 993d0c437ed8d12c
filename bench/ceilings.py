"""The three ceilings every endpoint is compared with, served like the service itself.

- **framework**: a bare Litestar app whose one route returns a small msgspec Struct. No
  database, no middleware: what Litestar and granian cost on this machine, the most
  requests a second any Litestar endpoint could reach.
- **asyncpg**: a raw ASGI callable (no framework) that fetches the same statement the
  service's `GET /v1/statements/{id}` reads, with the same SQL, through an asyncpg pool
  of the same size, and sends the JSON text back. Its pool is as cheap as asyncpg can
  be (no reset query on release, connections never recycled under load): the most a
  one-row read could reach with the database and the driver of this service.
- **write**: a raw ASGI callable that takes the body of a `POST /v1/statements` and
  writes what the service's POST writes (the statement, its appearance and its
  `created` event, whose trigger adds the webhook outbox delivery and the badge
  NOTIFY) in one transaction of one statement, through the same kind of pool, with
  fsync on: the most writes a second this database could take on this machine. No
  reference checks, no idempotency record, no representation read back.

Both run under `service.__main__.granian_server`, the very settings of `serve` (same
worker count, interface and logging). Run one with:

    python -m bench.ceilings framework|asyncpg|write --port 8001 --workers 2

(`asyncpg` and `write` read DATABASE_URL and DB_POOL_MAX_SIZE as the service does.)
"""

from __future__ import annotations

import argparse
import os
import uuid
from datetime import datetime
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


async def _pool(dsn: str, size: int) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=size,
        max_size=size,
        max_queries=10_000_000,
        reset=_no_reset,
        server_settings={"jit": "off"},
    )


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
                    pool = await _pool(dsn, size)
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


# ---- raw asyncpg writes --------------------------------------------------------------------


class _Appearance(msgspec.Struct):
    url: str
    publisher_id: uuid.UUID | None = None


class _StatementBody(msgspec.Struct):
    """What the write ceiling reads of a POST /v1/statements body (the bench's bodies)."""

    speaker_id: uuid.UUID
    text: str
    said_at: datetime | None = None
    medium: str = "other"
    context: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    appearances: list[_Appearance] = msgspec.field(default_factory=list)


# The rows of one POST, in one statement (one round trip, its own transaction); the event
# log's triggers add the outbox delivery and the badge notification as they do for the
# service.
WRITE_SQL = """
WITH s AS (
    INSERT INTO statements (speaker_id, text, said_at, medium, context, tags)
    VALUES ($1, $2, $3::timestamptz, $4::statement_medium, $5, $6)
    RETURNING id, version
), ap AS (
    INSERT INTO appearances (statement_id, position, url, publisher_id)
    SELECT s.id, a.ord - 1, a.url, a.publisher_id
    FROM s, unnest($7::text[], $8::uuid[]) WITH ORDINALITY AS a (url, publisher_id, ord)
), ev AS (
    INSERT INTO events (resource_type, resource_id, action, version, actor)
    SELECT 'statement', s.id, 'created', s.version, 'bench-write-ceiling' FROM s
)
SELECT id FROM s
"""


def write_app() -> Any:
    """The write ceiling: POST a statement's JSON -> 201 with its id, from asyncpg."""
    dsn = os.environ["DATABASE_URL"]
    size = int(os.environ.get("DB_POOL_MAX_SIZE", "16"))
    pool: asyncpg.Pool | None = None
    decoder = msgspec.json.Decoder(_StatementBody)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal pool
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    pool = await _pool(dsn, size)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if pool is not None:
                        await pool.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert pool is not None
        if scope["method"] != "POST":
            # The harness's readiness probe.
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        data = decoder.decode(b"".join(chunks))
        async with pool.acquire() as conn:
            new_id = await conn.fetchval(
                WRITE_SQL,
                data.speaker_id,
                data.text,
                data.said_at,
                data.medium,
                data.context,
                data.tags,
                [a.url for a in data.appearances],
                [a.publisher_id for a in data.appearances],
            )
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": msgspec.json.encode({"id": new_id})})

    return app


def main(argv: list[str] | None = None) -> None:
    from service.__main__ import granian_server

    parser = argparse.ArgumentParser(prog="python -m bench.ceilings", description=__doc__)
    parser.add_argument("ceiling", choices=["framework", "asyncpg", "write"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    target = {
        "framework": "bench.ceilings:framework_app",
        "asyncpg": "bench.ceilings:asyncpg_app",
        "write": "bench.ceilings:write_app",
    }
    granian_server(
        target[args.ceiling],
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
    ).serve()


if __name__ == "__main__":
    main()
