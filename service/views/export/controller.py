"""GET /v1/export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import ResponseHeader
from litestar.openapi.spec import Example, OpenAPIMediaType, OpenAPIResponse, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.response import Stream

from service.domain.organizations.schemas import OrganizationKind
from service.views.export.schemas import OrganizationLine
from service.views.export.service import NDJSON, open_export
from service.web import http
from service.web.auth import requires_read

DESCRIPTION = """\
Every live published resource, one JSON object per line (NDJSON, `application/x-ndjson`),
streamed: the export of any size starts at once and is never held in memory.

Each line is the resource as anonymous callers get it from `GET /v1/{collection}/{id}`
(statements and documents with their public `verification`), plus `type`: one of
`organization`, `person`, `document`, `statement`, `relation`, `assessment`. In a
`relation` line, the relation's own type (`denies`, `confirms`, ...) is `relation_type`.
Every value is written exactly as that endpoint writes it: timestamps are RFC 3339 in
UTC ending in `Z` (`2026-11-23T09:00:00.500000Z`).
Lines come grouped by type in that order (what a line refers to mostly comes earlier),
oldest first within a type, and all from one consistent moment.

The export is the published record for every caller, `write` and `admin` keys
included: internal documents and statements, drafts, and deleted resources are never
in it.

The lines are sent as `application/x-ndjson`. A client that asks for `text/plain`
(`Accept: text/plain`) gets the same bytes labelled `text/plain; charset=utf-8`, for
tools that read text but know no NDJSON. A generated client's `ExportRecords` reads
the whole body before it returns; to handle lines as they arrive, read the response as a
stream (the README shows how with the generated Python client).

The `Changes-Cursor` response header is a `GET /v1/changes` cursor taken at the
export's moment: to seed a copy, load the export, then follow the feed from that
cursor. Nothing that changed during or after the export is missed (a few changes
already in the export may be listed again, which re-fetching makes harmless).

A stream that breaks off (no clean end of the response) is incomplete: start again.
"""

EXAMPLE_LINE = (
    msgspec.json.encode(
        OrganizationLine(
            id=UUID("6f1c1e3a-2b1d-4c39-9d5e-0b1d2c3e4f50"),
            name="Reuters",
            kind=OrganizationKind.NEWS_OUTLET,
            url=None,
            same_as=[],
            version=1,
            created_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
            updated_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        )
    ).decode()
    + "\n"
)

CHANGES_CURSOR = "Changes-Cursor"
CHANGES_CURSOR_HEADER = ResponseHeader(
    name=CHANGES_CURSOR,
    description="A `GET /v1/changes` cursor from the export's moment: follow the feed "
    "from it to stay in sync.",
    documentation_only=True,
    value="",  # documents the header as a string; never sent as is
)


# What the export may be sent as, the default first. Generators that know no NDJSON
# (openapi-python-client warns on it and drops the operation) read the text/plain one.
TEXT = "text/plain"
MEDIA_TYPES = [NDJSON, TEXT]


@dataclass
class ExportOperation(Operation):
    """The OpenAPI operation of the export: its 200 is text, one JSON object per line,
    as NDJSON or (asked for) text/plain. Litestar documents a Stream's body as anything
    at all."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            ok.content = {
                media_type: OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.STRING,
                        description="Lines of JSON objects, each ending with a newline.",
                    ),
                    examples={"organization": Example(summary="A line", value=EXAMPLE_LINE)},
                )
                for media_type in MEDIA_TYPES
            }


class ExportController(Controller):
    path = "/v1/export"
    tags = ["Export"]
    guards = [requires_read]

    @get(
        "/",
        operation_id="ExportRecords",
        summary="Stream every published resource as NDJSON",
        description=DESCRIPTION,
        media_type=NDJSON,
        response_headers=[CHANGES_CURSOR_HEADER],
        response_description="One published resource per line, each with `type`.",
        operation_class=ExportOperation,
        responses=http.responses((503,)),
    )
    async def export_records(self, request: Request[Any, Any, Any]) -> Stream:
        # Anything but a preference for text/plain (no Accept, */*, application/json)
        # gets NDJSON, as before there was a choice.
        media_type = request.accept.best_match(MEDIA_TYPES, default=NDJSON)
        # Named as a header: a Stream's own media_type loses to the handler's (Litestar
        # 2.x), and the handler's stays NDJSON, the default the API documents.
        content_type = f"{TEXT}; charset=utf-8" if media_type == TEXT else NDJSON
        changes_cursor, lines = await open_export(request.app.state)

        # Litestar does not close the iterator when the client goes away mid-stream;
        # this runs once the response is over either way, and lets go of the connection.
        # (A coroutine function: Litestar would run the bare `aclose` method as sync.)
        async def close() -> None:
            await lines.aclose()

        return Stream(
            lines,
            headers={
                "Content-Type": content_type,
                CHANGES_CURSOR: changes_cursor,
                # Caches keep one copy per media type (the hook adds Authorization).
                "Vary": "Accept",
            },
            background=BackgroundTask(close),
        )
