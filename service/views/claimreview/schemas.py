"""schema.org ClaimReview (JSON-LD), as search engines read it.

The format keeps schema.org's own field names (camelCase, `@type`), not this API's
snake_case: consumers match them exactly.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

import msgspec


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
