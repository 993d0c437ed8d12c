"""What the public read of one statement or document returns: `PublicSubject` and its
parts, decoded from the JSON that `repository.py` builds. The card, oEmbed and
ClaimReview show it; none of these structs is an answer of the API itself.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

import msgspec

from service.domain.subjects import SubjectType, Verdict
from service.domain.verification import Verification


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
