from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

import msgspec

from service.domain.assessments.schemas import Assessment
from service.domain.history.schemas import ResourceType
from service.domain.organizations.schemas import Organization
from service.domain.relations.schemas import RelationType
from service.views.items import DocumentItem, StatementItem


class Direction(StrEnum):
    """`outgoing`: the subject is the relation's source; `incoming`: its target."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"


class RelationSummary(msgspec.Struct, kw_only=True):
    id: UUID
    type: RelationType
    direction: Direction
    note: str | None


class RelatedItem(msgspec.Struct, kw_only=True):
    """A statement or document related to the subject, with its own verification."""

    relation: RelationSummary
    item: StatementItem | DocumentItem


class Corroboration(msgspec.Struct, kw_only=True):
    """An organization cited as confirming the subject in its current assessment."""

    organization: Organization
    url: str | None
    assessment_id: UUID


class TimelineKind(StrEnum):
    DATED = "dated"
    SURFACED = "surfaced"
    SAID = "said"
    APPEARED = "appeared"
    ASSESSED = "assessed"
    SUPERSEDED = "superseded"
    RETRACTED = "retracted"


class TimelineRef(msgspec.Struct, kw_only=True):
    type: ResourceType
    id: UUID


class TimelineEntry(msgspec.Struct, kw_only=True):
    at: datetime
    kind: TimelineKind
    summary: str
    ref: TimelineRef


class DocumentRecord(msgspec.Struct, kw_only=True):
    """The whole story of a document in one response."""

    subject: DocumentItem
    assessments: list[Assessment]
    corroborations: list[Corroboration]
    related: list[RelatedItem]
    timeline: list[TimelineEntry]


class StatementRecord(msgspec.Struct, kw_only=True):
    """The whole story of a statement in one response."""

    subject: StatementItem
    assessments: list[Assessment]
    corroborations: list[Corroboration]
    related: list[RelatedItem]
    timeline: list[TimelineEntry]


class RecordParts(msgspec.Struct, kw_only=True):
    """What the one record query returns, before the timeline is derived from it."""

    subject: StatementItem | DocumentItem | None
    assessments: list[Assessment]
    corroborations: list[Corroboration]
    related: list[RelatedItem]
