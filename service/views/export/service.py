"""Streaming the export.

The rows come through a server-side cursor in batches, inside one REPEATABLE READ
read-only transaction so that every section sees the same moment (a relation's ends
are in the same export). Each row is decoded into its resource's Struct and encoded
again, as the JSON API encodes it, so that the export writes every value (timestamps
included) exactly as `GET /v1/{collection}/{id}` does. Memory stays at about one batch
whatever the size of the record, and the pooled connection is held only while the
stream runs.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import anyio
import msgspec
from litestar.datastructures import State

from service.domain.history.service import head_cursor
from service.kit.db import acquire
from service.views.export.repository import EXPORT_SECTIONS

NDJSON = "application/x-ndjson"
# Rows per round trip and per chunk sent: a few hundred kilobytes at most.
BATCH_ROWS = 500
# msgspec with no hooks, as Litestar encodes a response's Structs.
_encoder = msgspec.json.Encoder()


async def export_lines(state: State) -> AsyncGenerator[bytes, None]:
    """The export as chunks of whole NDJSON lines, after one item that is not a line.

    That first item is the change-feed cursor of the export's moment (ASCII), yielded
    once the connection is held and the snapshot taken: `open_export` awaits it before
    the response starts, so that a busy pool is still a 503. The connection goes back
    to the pool when the generator ends, is closed (`aclose`) or is cancelled.
    """
    async with acquire(state, state.settings) as conn:
        transaction = conn.transaction(isolation="repeatable_read", readonly=True)
        await transaction.start()
        try:
            # First in the transaction: the cursor belongs to the snapshot of every query below.
            yield (await head_cursor(conn)).encode()
            for section in EXPORT_SECTIONS:
                cursor = await conn.cursor(section.query)
                while rows := await cursor.fetch(BATCH_ROWS):
                    yield _encoder.encode_lines([section.line(row[0]) for row in rows])
        finally:
            # Read-only, so ending it either way is the same; shielded, because a client
            # that hangs up mid-fetch cancels this task, and the connection must go back
            # to the pool clean rather than be reset (or dropped) in the background.
            with anyio.CancelScope(shield=True):
                await transaction.rollback()


async def open_export(state: State) -> tuple[str, AsyncGenerator[bytes, None]]:
    """Start the export: hold a connection and take the snapshot now (ServiceUnavailable,
    503, if no connection is free in time). Returns the change-feed cursor of the
    export's moment and the stream of lines. A started generator is closed by the event
    loop even if nobody iterates it again, so the connection cannot leak."""
    lines = export_lines(state)
    # On failure the generator has already ended and let go of what it held.
    changes_cursor = (await anext(lines)).decode()
    return changes_cursor, lines
