from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec


class ResourceType(StrEnum):
    ORGANIZATION = "organization"
    PERSON = "person"
    DOCUMENT = "document"
    STATEMENT = "statement"
    RELATION = "relation"
    ASSESSMENT = "assessment"


class EventAction(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"
    RETRACTED = "retracted"


class HistoryEntry(msgspec.Struct, kw_only=True):
    """One change to a resource, as recorded in the append-only event log."""

    id: int
    resource_type: ResourceType
    resource_id: UUID
    action: EventAction
    version: int
    at: datetime
    actor: str | None
    changed_fields: list[str]


class HistoryPage(msgspec.Struct, kw_only=True):
    items: list[HistoryEntry]
    next_cursor: str | None


class HistoryPosition(msgspec.Struct, array_like=True, frozen=True):
    after_id: int


# ---- the change feed's position -------------------------------------------------------

# xid8 is unsigned 64-bit (epoch << 32 | xid), but its epoch would need 2^31 xid
# wraparounds to leave the signed range msgspec can bound; event ids are a bigint.
_XID8 = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
_BIGINT = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class FeedPosition(
    msgspec.Struct, array_like=True, frozen=True, order=True, forbid_unknown_fields=True
):
    """Where a reader stands in commit order: after the event `event_id` of the
    transaction `xact_id`. Ordered like the feed, so `max` picks the later one."""

    xact_id: _XID8
    event_id: _BIGINT


START = FeedPosition(xact_id=0, event_id=0)
