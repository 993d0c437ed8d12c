from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from service.domain.appearances import Appearance, Appearances
from service.domain.verification import Verification
from service.kit.fields import LanguageTag, LongText, Sha256, ShortText, Tags, Title, Visibility


class DocumentKind(StrEnum):
    LETTER = "letter"
    MEMO = "memo"
    REPORT = "report"
    ORDER = "order"
    EMAIL = "email"
    TRANSCRIPT = "transcript"
    OTHER = "other"


class DocumentCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: Annotated[
        Title, msgspec.Meta(examples=["Letter on U.S. forces' onward movement out of Iraq"])
    ]
    kind: DocumentKind = DocumentKind.OTHER
    issuer_id: UUID | None = None
    author_id: UUID | None = None
    recipient: ShortText | None = None
    dated_on: date | None = None
    surfaced_via: (
        Annotated[ShortText, msgspec.Meta(examples=["Leaked by a TV channel in Iraq"])] | None
    ) = None
    summary: LongText | None = None
    body_text: LongText | None = None
    language: LanguageTag = "en"
    sha256: Sha256 | None = None
    appearances: Appearances = msgspec.field(default_factory=list)
    tags: Tags = msgspec.field(default_factory=list)
    visibility: Visibility = Visibility.PUBLIC


class DocumentPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: Title | UnsetType = UNSET
    kind: DocumentKind | UnsetType = UNSET
    issuer_id: UUID | UnsetType | None = UNSET
    author_id: UUID | UnsetType | None = UNSET
    recipient: ShortText | UnsetType | None = UNSET
    dated_on: date | UnsetType | None = UNSET
    surfaced_via: ShortText | UnsetType | None = UNSET
    summary: LongText | UnsetType | None = UNSET
    body_text: LongText | UnsetType | None = UNSET
    language: LanguageTag | UnsetType = UNSET
    sha256: Sha256 | UnsetType | None = UNSET
    appearances: Appearances | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET
    visibility: Visibility | UnsetType = UNSET


class Document(msgspec.Struct, kw_only=True):
    id: UUID
    title: str
    kind: DocumentKind
    issuer_id: UUID | None
    author_id: UUID | None
    recipient: str | None
    dated_on: date | None
    surfaced_via: str | None
    summary: str | None
    body_text: str | None
    language: str
    sha256: str | None
    appearances: list[Appearance]
    tags: list[str]
    visibility: Visibility
    verification: Verification
    version: int
    created_at: datetime
    updated_at: datetime


class DocumentPage(msgspec.Struct, kw_only=True):
    items: list[Document]
    next_cursor: str | None
