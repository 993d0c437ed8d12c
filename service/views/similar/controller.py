"""GET /v1/statements/{id}/similar."""

from __future__ import annotations

from litestar import Controller, get

from service.kit.db import ReadDb
from service.views.similar.repository import CANDIDATES, MIN_SIMILARITY
from service.views.similar.schemas import SimilarStatements
from service.views.similar.service import similar_statements
from service.web import http
from service.web.auth import AudienceDep, public_read


class SimilarController(Controller):
    path = "/v1/statements"
    tags = ["Statements"]
    guards = [public_read]

    @get(
        "/{id:uuid}/similar",
        operation_id="ListSimilarStatements",
        summary="Statements that say nearly the same thing, best first",
        description=(
            "Statements by anyone whose quote is nearly this one's: a repeat of the claim, "
            "reworded or not, so that an editor can relate them (`responds_to`) or link "
            "them to the same assessment. `similarity` (0 to 1) is the mean of the "
            "trigram similarity of the two quotes (pg_trgm) and the share of their "
            "stemmed words in common; statements below "
            f"{MIN_SIMILARITY} are left out. The candidates scored are the {CANDIDATES} "
            "statements sharing the most words with it. Best first (then by id); "
            "`next_cursor` pages on. 404 when the statement is missing or not visible to "
            "the caller; only statements the caller may see are listed."
        ),
        responses=http.responses((*http.READ_ONE, 422)),
    )
    async def list_similar_statements(
        self,
        db: ReadDb,
        audience: AudienceDep,
        id: http.ResourceId,
        cursor: http.Cursor = None,
        limit: http.Limit = 25,
    ) -> SimilarStatements:
        return await similar_statements(db, id, cursor, limit, audience)
