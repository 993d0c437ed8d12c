"""Rules of the ClaimReview import: which rows a review finds or creates, once.

Per review: the reviewing organization (by URL, then name), the claimant (by `sameAs`,
then name), the statement (the claimant's claim, by its text) and a draft assessment by
that organization whose `url` (and `url` evidence) is the review's. A review URL is
imported once (`claimreview_imports`, migration 0014): a later import of it, in this
body or another, is `matched` and changes nothing.

A feed is imported in batches, each a fixed number of set-based statements in a
transaction of its own, so that a 10k-review feed neither holds its locks and new rows
in one long transaction nor loses the batches done when a later one fails. Every row
made gets its `created` event in its batch's transaction, and so its webhook outbox
rows and notifications when that batch commits.

The request's own transaction (`tx`, which claims its Idempotency-Key and records its
answer: service/web/idempotency.py) holds the import lock for the whole request and
writes nothing else; the batches run on a second pooled connection. A failed batch
rolls back alone: the batches before it stay, the answer is a problem saying how many
reviews they hold (`ImportInterrupted`), and no answer is recorded, so the same
request, sent again with the same key, imports the rest and reports the committed
reviews `matched`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID, uuid4

import asyncpg

from service.domain.history.repository import record_created_events
from service.domain.history.schemas import ResourceType
from service.domain.imports import jsonld, repository
from service.domain.imports.jsonld import Party, Review
from service.domain.imports.schemas import ImportedReview, ImportOutcome, ImportReport
from service.kit.db import CONNECTION_ERRORS, Connection
from service.kit.errors import ApiError, database_failure

log = logging.getLogger("service.imports")

# Where the batches run: a pooled connection other than the request's.
Connect = Callable[[], AbstractAsyncContextManager[Connection]]

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


class ImportInterrupted(ApiError):
    """A batch failed; the batches before it are committed. The status is the
    failure's own: 409 or 422 for what the database refused, 503 when it could not be
    reached, 500 for anything else."""

    def __init__(self, detail: str, status: int, slug: str) -> None:
        super().__init__(detail, headers={"Retry-After": "1"} if status == 503 else None)
        self.status, self.slug = status, slug


def _interrupted(exc: Exception, number: int, batches: int, first_index: int) -> ImportInterrupted:
    mapped = database_failure(exc) if isinstance(exc, asyncpg.PostgresError) else None
    if mapped is not None:
        status, slug, reason = mapped
    elif isinstance(exc, CONNECTION_ERRORS):
        status, slug, reason = 503, "service-unavailable", "the database became unreachable"
    else:
        status, slug, reason = 500, "internal-error", "an unexpected error occurred"
    if status >= 500:
        log.error("ClaimReview import: batch %d of %d failed", number + 1, batches, exc_info=exc)
    done = (
        f"the reviews before it (index 0 to {first_index - 1}) are committed and stay"
        if first_index
        else "nothing was imported"
    )
    again = (
        "Send the same request again"
        if status >= 500
        else "Send the feed again once what was refused is fixed"
    )
    return ImportInterrupted(
        f"batch {number + 1} of {batches} (the reviews from index {first_index}) failed: "
        f"{reason}. It and the batches after it were not imported; {done}. {again} (the "
        "same Idempotency-Key may be reused: a failure is not kept): the committed reviews "
        "come back `matched`, the rest are imported.",
        status,
        slug,
    )


async def import_claim_reviews(
    tx: Connection, connect: Connect, body: Any, actor: str | None
) -> ImportReport:
    """Import every ClaimReview of a decoded JSON-LD body, batch by batch, each batch on
    a `connect()`ed connection in a transaction of its own; 422 (InvalidInput) when the
    body holds none. Reviews that cannot be imported are reported, never half-imported;
    a failed batch raises ImportInterrupted, leaving the batches before it committed."""
    entries = jsonld.reviews_of(body)
    now = datetime.now(UTC)
    reviews = [jsonld.read(index, entry, now) for index, entry in enumerate(entries)]
    # The lock is held by the request's transaction, not the batches': a lock taken per
    # batch would let two imports interleave theirs, and a session-level lock (held
    # across the batches' transactions) is what PgBouncer in transaction mode cannot
    # keep (docs/scaling.md). Taken before the second connection, so that an import
    # waiting its turn holds one pooled connection, not two.
    await repository.lock(tx)
    outcomes: dict[int, ImportedReview] = {}
    batches = list(_batches(reviews, BATCH))
    running: int | None = None  # the batch under way, if any
    try:
        # Raised outside the connection's block, so that a connection error reaches
        # `acquire` as itself (which then expires the pool's other connections).
        async with connect() as conn:
            for number, batch in enumerate(batches):
                running = number
                if number:
                    # Taking the lock again (it is held: this returns at once) keeps the
                    # idle request transaction clear of idle_in_transaction_session_timeout,
                    # and stops the import if that transaction died, lock and all.
                    await repository.lock(tx)
                async with conn.transaction():
                    await _import_batch(conn, batch, outcomes, actor)
                running = None
    except Exception as exc:
        if running is None:
            raise  # no batch failed: no connection to be had (503), or all committed
        raise _interrupted(exc, running, len(batches), batches[running][0].index) from exc
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
