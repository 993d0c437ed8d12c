"""Rules of the ClaimReview import: which rows a review finds or creates, once.

Per review: the reviewing organization (by URL, then name), the claimant (by `sameAs`,
then name), the statement (the claimant's claim, by its text) and a draft assessment by
that organization whose `url` (and `url` evidence) is the review's. A review URL is
imported once (`claimreview_imports`, migration 0014): a later import of it, in this
body or another, is `matched` and changes nothing.

A feed is imported in batches, each a fixed number of set-based statements, all in the
request's one transaction (whose Idempotency-Key and response commit with it); every
row made gets its `created` event, and so its webhook outbox rows and notifications.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID, uuid4

from service.domain.history.repository import record_created_events
from service.domain.history.schemas import ResourceType
from service.domain.imports import jsonld, repository
from service.domain.imports.jsonld import Party, Review
from service.domain.imports.schemas import ImportedReview, ImportOutcome, ImportReport
from service.kit.db import Connection

# Reviews per batch: large enough that round trips do not count, small enough that each
# statement stays far below the statement timeout.
BATCH = 1000

# The record's statements are said by people: an organization that makes a claim is
# recorded as the person who said it, under its name, saying so.
ORGANIZATION_CLAIMANT = (
    "An organization, named as the author of a claim in an imported ClaimReview."
)

V = TypeVar("V")


class Groups(Generic[V]):
    """Distinct wanted rows, each reachable by any of its keys (a URL, then a name):
    the batch asks the database once per row, not once per review."""

    def __init__(self) -> None:
        self.values: list[V] = []
        self._by_key: dict[Hashable, int] = {}

    def add(self, value: V, keys: Sequence[Hashable]) -> int:
        found = next((self._by_key[k] for k in keys if k in self._by_key), None)
        if found is None:
            found = len(self.values)
            self.values.append(value)
        for key in keys:
            self._by_key.setdefault(key, found)
        return found


def _organization_keys(party: Party) -> list[Hashable]:
    keys: list[Hashable] = [("name", party.name.lower())]
    if party.url:
        keys.insert(0, ("url", party.url.lower().rstrip("/")))
    return keys


def _claimant_keys(party: Party) -> list[Hashable]:
    return [*(("same_as", u) for u in party.same_as), ("name", party.name.lower())]


def _batches(items: Sequence[V], size: int) -> Iterator[Sequence[V]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def import_claim_reviews(conn: Connection, body: Any, actor: str | None) -> ImportReport:
    """Import every ClaimReview of a decoded JSON-LD body; 422 (InvalidInput) when it
    holds none. Reviews that cannot be imported are reported, never half-imported."""
    entries = jsonld.reviews_of(body)
    now = datetime.now(UTC)
    reviews = [jsonld.read(index, entry, now) for index, entry in enumerate(entries)]
    await repository.lock(conn)
    outcomes: dict[int, ImportedReview] = {}
    for batch in _batches(reviews, BATCH):
        await _import_batch(conn, batch, outcomes, actor)
    items = [
        outcomes.get(r.index)
        or ImportedReview(
            index=r.index,
            url=r.url,
            outcome=ImportOutcome.SKIPPED,
            statement_id=None,
            assessment_id=None,
            errors=r.errors,
        )
        for r in reviews
    ]
    counts = {o: sum(1 for i in items if i.outcome is o) for o in ImportOutcome}
    return ImportReport(
        items=items,
        created=counts[ImportOutcome.CREATED],
        matched=counts[ImportOutcome.MATCHED],
        skipped=counts[ImportOutcome.SKIPPED],
    )


def _outcome(
    review: Review, outcome: ImportOutcome, statement_id: UUID, assessment_id: UUID
) -> ImportedReview:
    return ImportedReview(
        index=review.index,
        url=review.url,
        outcome=outcome,
        statement_id=statement_id,
        assessment_id=assessment_id,
        errors=review.errors,
    )


async def _import_batch(
    conn: Connection,
    batch: Sequence[Review],
    outcomes: dict[int, ImportedReview],
    actor: str | None,
) -> None:
    usable = [r for r in batch if r.usable]
    known = await repository.known_reviews(conn, list({r.url for r in usable if r.url}))
    new: list[Review] = []
    repeats: dict[str, list[Review]] = {}
    for review in usable:
        assert review.url is not None
        if review.url in known:
            statement_id, assessment_id = known[review.url]
            outcomes[review.index] = _outcome(
                review, ImportOutcome.MATCHED, statement_id, assessment_id
            )
        elif review.url in repeats:
            repeats[review.url].append(review)
        else:
            repeats[review.url] = []
            new.append(review)
    if not new:
        return

    organization_ids = await _find_or_create(
        conn,
        new,
        lambda r: r.organization,
        _organization_keys,
        lambda parties, ids: repository.organizations(
            conn, [p.name for p in parties], [p.url for p in parties], ids
        ),
        ResourceType.ORGANIZATION,
        actor,
    )
    speaker_ids = await _find_or_create(
        conn,
        new,
        lambda r: r.claimant,
        _claimant_keys,
        lambda parties, ids: repository.people(
            conn,
            [p.name for p in parties],
            [json.dumps(p.same_as) for p in parties],
            ids,
            [None if p.is_person else ORGANIZATION_CLAIMANT for p in parties],
        ),
        ResourceType.PERSON,
        actor,
    )

    # The same claim by the same speaker is one statement, found or made once.
    claims: Groups[tuple[UUID, Review]] = Groups()
    claim_of = [
        claims.add((speaker, review), [(speaker, review.claim.lower())])
        for speaker, review in zip(speaker_ids, new, strict=True)
    ]
    firsts = [review for _, review in claims.values]
    statement_ids = [uuid4() for _ in firsts]
    found = await repository.statements(
        conn,
        [speaker for speaker, _ in claims.values],
        [r.claim for r in firsts],
        [r.said_at for r in firsts],
        [r.language for r in firsts],
        statement_ids,
    )
    made = set(found.created)
    seen = [
        (statement_id, position, a.url, a.published_at)
        for statement_id, review in zip(found.ids, firsts, strict=True)
        if statement_id in made
        for position, a in enumerate(review.appearances)
    ]
    await repository.appearances(
        conn, [s[0] for s in seen], [s[1] for s in seen], [s[2] for s in seen], [s[3] for s in seen]
    )
    await record_created_events(conn, ResourceType.STATEMENT, found.created, actor)

    assessment_ids = [uuid4() for _ in new]
    subject_ids = [found.ids[claim_of[i]] for i in range(len(new))]
    await repository.assessments(
        conn,
        assessment_ids,
        subject_ids,
        [str(r.verdict) for r in new],
        [r.headline for r in new],
        [r.explanation for r in new],
        [r.url or "" for r in new],
        organization_ids,
    )
    await record_created_events(conn, ResourceType.ASSESSMENT, assessment_ids, actor)
    for i, review in enumerate(new):
        outcomes[review.index] = _outcome(
            review, ImportOutcome.CREATED, subject_ids[i], assessment_ids[i]
        )
        for repeat in repeats[review.url or ""]:
            outcomes[repeat.index] = _outcome(
                repeat, ImportOutcome.MATCHED, subject_ids[i], assessment_ids[i]
            )


async def _find_or_create(
    conn: Connection,
    reviews: Sequence[Review],
    party_of: Callable[[Review], Party | None],
    keys_of: Callable[[Party], Sequence[Hashable]],
    query: Callable[[list[Party], list[UUID]], Any],
    resource_type: ResourceType,
    actor: str | None,
) -> list[UUID]:
    """The id of each review's party (one per distinct party), creating what the
    record lacks with its `created` event."""
    groups: Groups[Party] = Groups()
    group_of = []
    for review in reviews:
        party = party_of(review)
        assert party is not None  # a usable review names both parties
        group_of.append(groups.add(party, keys_of(party)))
    found: repository.Found = await query(groups.values, [uuid4() for _ in groups.values])
    await record_created_events(conn, resource_type, found.created, actor)
    return [found.ids[g] for g in group_of]
