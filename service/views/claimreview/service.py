"""Rules for ClaimReview: how a published verdict reads on schema.org's rating scale,
and when there is none to give (404)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from service.domain.subjects import SubjectType, Verdict
from service.kit.db import Connection
from service.kit.errors import NotFound
from service.views.claimreview.schemas import (
    Claim,
    ClaimReview,
    CreativeWork,
    LinkedParty,
    LinkedPartyType,
    Rating,
)
from service.views.published.presentation import verdict_label
from service.views.published.schemas import Party, PartyKind
from service.views.published.service import PROVIDER_NAME, published_subject, record_url

# The verdict on schema.org's 1..5 scale (5 best): true/authentic 5, mostly true/likely
# authentic 4, mixed/disputed 3, misleading/mostly false/altered 2, false/fabricated 1.
# Unverifiable and unverified rate nothing and carry only their label.
BEST_RATING, WORST_RATING = 5, 1
RATINGS: dict[Verdict, int] = {
    Verdict.TRUE: 5,
    Verdict.MOSTLY_TRUE: 4,
    Verdict.MIXED: 3,
    Verdict.MISLEADING: 2,
    Verdict.MOSTLY_FALSE: 2,
    Verdict.FALSE: 1,
    Verdict.AUTHENTIC: 5,
    Verdict.LIKELY_AUTHENTIC: 4,
    Verdict.DISPUTED: 3,
    Verdict.ALTERED: 2,
    Verdict.FABRICATED: 1,
}


def _linked(party: Party) -> LinkedParty:
    return LinkedParty(
        type=(
            LinkedPartyType.PERSON
            if party.kind == PartyKind.PERSON
            else LinkedPartyType.ORGANIZATION
        ),
        name=party.name,
        url=party.url,
        same_as=party.same_as or None,
    )


def _iso(moment: datetime | date | None) -> str | None:
    return None if moment is None else moment.isoformat()


def rating(verdict: Verdict) -> Rating:
    value = RATINGS.get(verdict)
    return Rating(
        type="Rating",
        alternate_name=verdict_label(verdict),
        rating_value=value,
        best_rating=BEST_RATING if value is not None else None,
        worst_rating=WORST_RATING if value is not None else None,
    )


async def claim_review(
    conn: Connection, subject_type: SubjectType, id: UUID, base_url: str
) -> ClaimReview:
    """ClaimReview of the subject's current published assessment; 404 when the subject
    is not published or has no published assessment."""
    subject = await published_subject(conn, subject_type, id)
    assessment = subject.assessment
    if assessment is None:
        raise NotFound(f"{subject_type} {id} has no published assessment")
    appearances = [
        CreativeWork(type="CreativeWork", url=a.url, date_published=a.published_at)
        for a in subject.appearances
    ]
    # The first appearance is the earliest dated one, else simply the first listed.
    dated = [(a.published_at, i) for i, a in enumerate(subject.appearances) if a.published_at]
    first_index = min(dated)[1] if dated else 0
    author = (
        _linked(assessment.author)
        if assessment.author is not None
        else LinkedParty(type=LinkedPartyType.ORGANIZATION, name=PROVIDER_NAME, url=base_url)
    )
    return ClaimReview(
        context="https://schema.org",
        type="ClaimReview",
        url=assessment.url or record_url(base_url, subject_type, id),
        claim_reviewed=subject.claim,
        review_rating=rating(assessment.verdict),
        item_reviewed=Claim(
            type="Claim",
            author=_linked(subject.author) if subject.author is not None else None,
            date_published=_iso(subject.said_at or subject.dated_on),
            appearance=appearances or None,
            first_appearance=appearances[first_index] if appearances else None,
        ),
        author=author,
        date_published=assessment.published_at,
        headline=assessment.headline,
    )
