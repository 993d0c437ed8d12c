from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from service.kit.fields import HttpUrl, Name, UrlList


class OrganizationKind(StrEnum):
    NEWS_OUTLET = "news_outlet"
    GOVERNMENT = "government"
    MILITARY = "military"
    POLITICAL_PARTY = "political_party"
    COMPANY = "company"
    NGO = "ngo"
    OTHER = "other"


class OrganizationCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[Name, msgspec.Meta(examples=["U.S. Department of Defense"])]
    kind: OrganizationKind = OrganizationKind.OTHER
    url: HttpUrl | None = None
    same_as: UrlList = msgspec.field(default_factory=list)


class OrganizationPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    kind: OrganizationKind | UnsetType = UNSET
    url: HttpUrl | UnsetType | None = UNSET
    same_as: UrlList | UnsetType = UNSET


class Organization(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    kind: OrganizationKind
    url: str | None
    same_as: list[str]
    version: int
    created_at: datetime
    updated_at: datetime


class OrganizationPage(msgspec.Struct, kw_only=True):
    items: list[Organization]
    next_cursor: str | None
