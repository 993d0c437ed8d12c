from __future__ import annotations

from datetime import datetime
from enum import StrEnum
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
