from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from service.domain.appearances import Appearance, Appearances
from service.domain.verification import Verification
from service.kit.fields import LanguageTag, LongText, Quote, Tags, Timestamp, Visibility


class Medium(StrEnum):
    PRESS_BRIEFING = "press_briefing"
    INTERVIEW = "interview"
    SOCIAL_MEDIA = "social_media"
    WRITTEN_STATEMENT = "written_statement"
    SPEECH = "speech"
    TESTIMONY = "testimony"
    OTHER = "other"


class StatementCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    speaker_id: UUID
    text: Annotated[
        Quote, msgspec.Meta(examples=["There's been no decision whatsoever to leave Iraq."])
    ]
    said_at: Timestamp | None = None
    medium: Medium = Medium.OTHER
    context: LongText | None = None
    language: LanguageTag = "en"
    appearances: Appearances = msgspec.field(default_factory=list)
    tags: Annotated[Tags, msgspec.Meta(examples=[["iraq", "denial"]])] = msgspec.field(
        default_factory=list
    )
    visibility: Visibility = Visibility.PUBLIC


class StatementPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    speaker_id: UUID | UnsetType = UNSET
    text: Quote | UnsetType = UNSET
    said_at: Timestamp | UnsetType | None = UNSET
    medium: Medium | UnsetType = UNSET
    context: LongText | UnsetType | None = UNSET
    language: LanguageTag | UnsetType = UNSET
    appearances: Appearances | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET
    visibility: Visibility | UnsetType = UNSET


class Statement(msgspec.Struct, kw_only=True):
    id: UUID
    speaker_id: UUID
    text: str
    said_at: datetime | None
    medium: Medium
    context: str | None
    language: str
    appearances: list[Appearance]
    tags: list[str]
    visibility: Visibility
    verification: Verification
    version: int
    created_at: datetime
    updated_at: datetime


class StatementPage(msgspec.Struct, kw_only=True):
    items: list[Statement]
    next_cursor: str | None
