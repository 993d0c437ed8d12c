from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from service.kit.fields import Aliases, LongText, Name, ShortText, UrlList


class Affiliation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A position held at an organization ("Secretary of Defense" from 2019-07-23)."""

    organization_id: UUID
    title: Annotated[ShortText, msgspec.Meta(examples=["Secretary of Defense"])] | None = None
    start_on: date | None = None
    end_on: date | None = None

    def __post_init__(self) -> None:
        if self.start_on and self.end_on and self.end_on < self.start_on:
            raise ValueError("end_on must not be before start_on")


Affiliations = Annotated[list[Affiliation], msgspec.Meta(max_length=100)]


class PersonCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[Name, msgspec.Meta(examples=["Mark Esper"])]
    aliases: Annotated[Aliases, msgspec.Meta(examples=[["Mark T. Esper", "@EsperDoD"]])] = (
        msgspec.field(default_factory=list)
    )
    description: LongText | None = None
    same_as: UrlList = msgspec.field(default_factory=list)
    affiliations: Affiliations = msgspec.field(default_factory=list)


class PersonPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    aliases: Aliases | UnsetType = UNSET
    description: LongText | UnsetType | None = UNSET
    same_as: UrlList | UnsetType = UNSET
    affiliations: Affiliations | UnsetType = UNSET


class Person(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    aliases: list[str]
    description: str | None
    same_as: list[str]
    affiliations: list[Affiliation]
    version: int
    created_at: datetime
    updated_at: datetime


class PersonPage(msgspec.Struct, kw_only=True):
    items: list[Person]
    next_cursor: str | None
