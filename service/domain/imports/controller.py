"""POST /v1/imports/claimreview."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from litestar import Controller, post
from litestar.datastructures import State
from litestar.params import Body

from service.domain.imports.schemas import ImportReport
from service.domain.imports.service import import_claim_reviews
from service.kit.db import WriteTx, acquire
from service.web import http
from service.web.auth import Actor, requires_write

# A 10,000-review feed is about 8 MB of JSON: this route alone takes bodies up to this
# size (every other route keeps MAX_BODY_BYTES).
IMPORT_MAX_BODY_BYTES = 32 * 1024 * 1024

BODY_DESCRIPTION = (
    "schema.org `ClaimReview` JSON-LD as publishers emit it: one ClaimReview object, a "
    "JSON array of them, an object whose `@graph` holds them, or a `DataFeed` whose "
    "`dataFeedElement` lists them (bare or as `DataFeedItem.item`). `@context` may be "
    "schema.org in its http or https form."
)

ClaimReviewFeed = Annotated[
    Any,
    Body(
        title="ClaimReviewFeed",
        description=BODY_DESCRIPTION,
        schema_component_key="ClaimReviewFeed",
    ),
]


class ImportController(Controller):
    path = "/v1/imports"
    tags = ["Imports"]
    guards = [requires_write]

    @post(
        "/claimreview",
        operation_id="ImportClaimReviews",
        summary="Import other fact-checkers' ClaimReviews as draft assessments",
        description=(
            "For each ClaimReview, finds or creates the reviewing organization (by URL, "
            "then name), the claimant (a person, by `sameAs`, then name; an organization "
            "claimant is recorded as a person of its name), the statement (the claimant's "
            "`claimReviewed`, with its `appearance`s and `firstAppearance`) and a **draft** "
            "assessment by that organization whose `url` and `url` evidence are the "
            "review's URL. The rating maps to a verdict by its text (`alternateName`, "
            'else `name`: the table in README.md, e.g. "Pants on Fire" is false, '
            '"Missing context" misleading, "Unproven" unverifiable), else by '
            "`ratingValue` on `worstRating`..`bestRating` (default 1..5); a rating that "
            "maps to nothing skips the review. A review URL is imported once: importing "
            "it again is `matched` and changes nothing. The answer reports every review "
            "in body order. 422 when the body holds no ClaimReview at all. Bodies up to "
            f"{IMPORT_MAX_BODY_BYTES // (1024 * 1024)} MiB (10,000 reviews in one request). "
            "Reviews are imported in batches of 1,000 in body order, each committed on its "
            "own, one import at a time. When a batch fails, the answer is a problem whose "
            "`detail` names the batch and the reviews committed before it (they stay; the "
            "status is the failure's: 409 or 422 for what the record refused, 5xx for a "
            "server failure) and no answer is kept for the Idempotency-Key: send the same "
            "request again, and the committed reviews come back `matched`."
        ),
        status_code=200,
        request_max_body_size=IMPORT_MAX_BODY_BYTES,
        responses=http.responses(http.CREATE),
    )
    async def import_claim_reviews(
        self, data: ClaimReviewFeed, tx: WriteTx, actor: Actor, state: State
    ) -> ImportReport:
        return await import_claim_reviews(tx, partial(acquire, state, state.settings), data, actor)
