"""GET /v1/changes."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from service.domain.history.schemas import ResourceType
from service.kit.db import ReadDb
from service.kit.errors import invalid_field
from service.kit.fields import END
from service.views.changes.schemas import ChangePage
from service.views.changes.service import list_changes
from service.web import http
from service.web.auth import AudienceDep, requires_read
from service.web.transactions import READ_FROM_PRIMARY

DESCRIPTION = """\
Every change to every resource, in commit order, for partners that keep a copy in sync.
Each item names the resource (`type`, `resource_id`), what happened (`action`, as in
history) and the resource's `version` after it; fetch the resource for its content (a
`deleted` resource answers 404).

**Following the feed.** Start without `cursor`, then always send the `next_cursor` of
the previous answer. `next_cursor` is never null: the feed has no last page. A page
with fewer items than `limit` means you are up to date; store its `next_cursor` and ask
again later (every few seconds is fine). An empty page hands back a cursor that keeps
your position, so nothing is lost between polls.

**Never missing an event.** An event is listed only once every transaction that began
before it has ended, so events of concurrent writers are listed in the order their
transactions committed and never appear behind a cursor already handed out. Following
`next_cursor` therefore lists every event exactly once, even under concurrent writers;
the price is that a long-running transaction delays (never hides) newer events.

**What a key sees.** `write` and `admin` keys see every event. `read` keys see events
about published resources only, judged by the resource's current state: internal
documents and statements, draft assessments and relations touching unpublished
material are left out, while the `deleted` event of a published resource is listed. A
resource that is published later shows up with the event that published it; one
withdrawn from publication stops appearing, so reconcile now and then with
`GET /v1/export`.

A cursor belongs to the `types` filter it was issued with: changing the filter midway
may skip events of the newly added types.
"""


# One resource type, as the `types` filter names it.
_TYPE = f"({'|'.join(ResourceType)})"


class ChangeController(Controller):
    path = "/v1/changes"
    tags = ["Changes"]
    guards = [requires_read]
    # The feed's horizon (pg_current_snapshot) is only meaningful on the primary.
    opt = {READ_FROM_PRIMARY: True}

    @get(
        "/",
        operation_id="ListChanges",
        summary="Every change, in commit order, for syncing",
        description=DESCRIPTION,
        responses=http.responses(http.LIST),
    )
    async def list_changes(
        self,
        db: ReadDb,
        audience: AudienceDep,
        types: Annotated[
            str | None,
            QueryParameter(
                max_length=200,
                pattern=rf"^ *{_TYPE} *(, *{_TYPE} *)*" + END,
                description="Only changes to these resource types, comma-separated: "
                "organization, person, document, statement, relation, assessment "
                "(default all).",
            ),
        ] = None,
        cursor: http.Cursor = None,
        limit: http.Limit = 25,
    ) -> ChangePage:
        return await list_changes(db, cursor, limit, _resource_types(types), audience)


def _resource_types(types: str | None) -> set[ResourceType] | None:
    """The `types` filter; None (all types) when absent or blank."""
    if types is None:
        return None
    try:
        wanted = {ResourceType(t.strip()) for t in types.split(",") if t.strip()}
    except ValueError:
        names = ", ".join(ResourceType)
        raise invalid_field("types", f"each type must be one of {names}") from None
    return wanted or None
