"""HTTP routes for schema.org ClaimReview (JSON-LD) of a statement's or document's
current verdict: public content for search engines (see `views/published/responses.py`)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get

from service.domain.subjects import SubjectType
from service.kit.db import ReadDb
from service.views.claimreview import service
from service.views.claimreview.schemas import ClaimReview
from service.views.published.responses import PUBLIC_HEADERS, SAME_FOR_EVERYONE, public_response
from service.web import http
from service.web.auth import public_read

LD_JSON = "application/ld+json"

CLAIMREVIEW_DESCRIPTION = (
    "schema.org `ClaimReview` (JSON-LD) of the {noun}'s current published assessment, for "
    "search engines: `claimReviewed` is the {claim}; `reviewRating.alternateName` is the "
    "verdict label and `ratingValue` rates it from 1 (false, fabricated) to 5 (true, "
    "authentic): {scale}; unverifiable and unverified carry no number. `url` is the "
    "fact-check's URL, else the record's. 404 when the {noun} is not published or has no "
    "published assessment."
)
_SCALE = "mostly true and likely authentic 4, mixed and disputed 3, misleading, mostly false and altered 2"


class ClaimReviewController(Controller):
    path = "/v1"
    tags = ["ClaimReview"]
    guards = [public_read]
    opt = SAME_FOR_EVERYONE

    @get(
        "/statements/{id:uuid}/claimreview",
        operation_id="GetStatementClaimReview",
        summary="schema.org ClaimReview of a statement's current verdict",
        description=CLAIMREVIEW_DESCRIPTION.format(noun="statement", claim="quote", scale=_SCALE),
        media_type=LD_JSON,
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=PUBLIC_HEADERS,
    )
    async def get_statement_claim_review(
        self, request: Request[Any, Any, Any], db: ReadDb, id: http.ResourceId
    ) -> Response[ClaimReview]:
        base_url = request.app.state.settings.public_base_url
        review = await service.claim_review(db, SubjectType.STATEMENT, id, base_url)
        return public_response(request, msgspec.json.encode(review), LD_JSON)

    @get(
        "/documents/{id:uuid}/claimreview",
        operation_id="GetDocumentClaimReview",
        summary="schema.org ClaimReview of a document's current verdict",
        description=CLAIMREVIEW_DESCRIPTION.format(
            noun="document", claim="document's title", scale=_SCALE
        ),
        media_type=LD_JSON,
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=PUBLIC_HEADERS,
    )
    async def get_document_claim_review(
        self, request: Request[Any, Any, Any], db: ReadDb, id: http.ResourceId
    ) -> Response[ClaimReview]:
        base_url = request.app.state.settings.public_base_url
        review = await service.claim_review(db, SubjectType.DOCUMENT, id, base_url)
        return public_response(request, msgspec.json.encode(review), LD_JSON)
