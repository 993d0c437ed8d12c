from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

from service.domain.subjects import SubjectRef
from service.kit.fields import LongText


class RelationType(StrEnum):
    """How the source bears on the target: "this statement *denies* that letter"."""

    DENIES = "denies"
    CONTRADICTS = "contradicts"
    CONFIRMS = "confirms"
    SUPPORTS = "supports"
    CLARIFIES = "clarifies"
    RETRACTS = "retracts"
    RESPONDS_TO = "responds_to"
    CITES = "cites"


class RelationCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new relation: `source` (a statement or document) bears on `target` as `type`
    says ("this statement denies that letter"). There is no patch: a relation is
    created and deleted, not edited."""

    # (No per-field descriptions on SubjectRef: Litestar would let them overwrite the
    # shared component's description, differently from one app instance to the next.)
    source: SubjectRef
    type: Annotated[RelationType, msgspec.Meta(examples=["denies"])]
    target: SubjectRef
    note: LongText | None = None


class Relation(msgspec.Struct, kw_only=True):
    id: UUID
    source: SubjectRef
    type: RelationType
    target: SubjectRef
    note: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class RelationPage(msgspec.Struct, kw_only=True):
    items: list[Relation]
    next_cursor: str | None
