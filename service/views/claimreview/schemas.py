"""The formats other people's software reads (shields.io, oEmbed 1.0, schema.org
ClaimReview), and what the repository reads for them.

The external formats keep their own field names (camelCase, `@type`), not this API's
snake_case: consumers match them exactly.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from service.domain.subjects import SubjectType, Verdict
from service.domain.verification import Verification

# ---- what the repository reads ------------------------------------------------------------


class PartyKind(StrEnum):
    PERSON = "person"
    ORGANIZATION = "organization"


class Party(msgspec.Struct, kw_only=True):
    """Who said or issued something, or who wrote a verdict."""

    kind: PartyKind
    name: str
    url: str | None
    same_as: list[str]


class Appearing(msgspec.Struct, kw_only=True):
    url: str
    published_at: datetime | None


class CurrentAssessment(msgspec.Struct, kw_only=True):
    """The subject's latest published assessment."""

    id: UUID
    verdict: Verdict
    headline: str
    url: str | None
    published_at: datetime
    author: Party | None
    # The live organizations whose confirmations back it (the card names them).
    corroborated_by: list[str]


class PublicSubject(msgspec.Struct, kw_only=True):
    """A published statement or document as the card and ClaimReview show it: `claim`
    is the quote or the title, `author` the speaker or the issuer (else the author)."""

    type: SubjectType
    id: UUID
    claim: str
    language: str
    said_at: datetime | None
    dated_on: date | None
    author: Party | None
    appearances: list[Appearing]
    verification: Verification
    assessment: CurrentAssessment | None


# ---- shields.io endpoint badge ------------------------------------------------------------


class ShieldsBadge(msgspec.Struct, kw_only=True):
    """A shields.io endpoint badge: https://img.shields.io/endpoint?url=<this URL>."""

    schema_version: Annotated[int, msgspec.Meta(examples=[1])] = msgspec.field(name="schemaVersion")
    label: Annotated[str, msgspec.Meta(examples=["Verification Record"])]
    message: Annotated[
        str,
        msgspec.Meta(
            description='The verdict label; "Unverified" while unassessed.',
            examples=["Mostly false"],
        ),
    ]
    color: Annotated[str, msgspec.Meta(description="Hex colour, without `#`.", examples=["bc4c00"])]


# ---- oEmbed 1.0 -----------------------------------------------------------------------------


class OEmbed(msgspec.Struct, kw_only=True):
    """An oEmbed 1.0 `rich` response (https://oembed.com): `html` is an iframe of the card."""

    version: Literal["1.0"]
    type: Literal["rich"]
    html: str
    width: int
    height: int
    title: str
    provider_name: str
    provider_url: str
    cache_age: Annotated[int, msgspec.Meta(description="Seconds a consumer may keep this.")]


# ---- schema.org ClaimReview -----------------------------------------------------------------


class LinkedPartyType(StrEnum):
    """The schema.org type of a LinkedParty."""

    PERSON = "Person"
    ORGANIZATION = "Organization"


class LinkedParty(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    """A schema.org Person or Organization."""

    type: LinkedPartyType = msgspec.field(name="@type")
    name: str
    url: str | None = None
    same_as: list[str] | None = None


class CreativeWork(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    """Where the claim appeared."""

    type: Literal["CreativeWork"] = msgspec.field(name="@type")
    url: str
    date_published: datetime | None = None


class Claim(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    type: Literal["Claim"] = msgspec.field(name="@type")
    author: LinkedParty | None = None
    # A said_at timestamp or a dated_on date, in ISO 8601 (msgspec takes no union of both).
    date_published: str | None = None
    appearance: list[CreativeWork] | None = None
    first_appearance: CreativeWork | None = None


class Rating(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    """The verdict: `alternateName` is its label; `ratingValue` runs from 1 (false,
    fabricated) to 5 (true, authentic) and is left out where the verdict rates nothing
    (unverifiable, unverified)."""

    type: Literal["Rating"] = msgspec.field(name="@type")
    alternate_name: str
    rating_value: int | None = None
    best_rating: int | None = None
    worst_rating: int | None = None


class ClaimReview(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    """schema.org ClaimReview of the current published assessment, as search engines read
    it (https://schema.org/ClaimReview)."""

    context: Literal["https://schema.org"] = msgspec.field(name="@context")
    type: Literal["ClaimReview"] = msgspec.field(name="@type")
    url: str
    claim_reviewed: str
    review_rating: Rating
    item_reviewed: Claim
    author: LinkedParty
    date_published: datetime
    headline: str | None = None
