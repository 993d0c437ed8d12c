"""GET /v1/search."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from service.domain.subjects import SubjectType
from service.kit.db import ReadDb
from service.kit.errors import invalid_field
from service.kit.fields import END
from service.views.search.schemas import SearchResults
from service.views.search.service import search
from service.web import http
from service.web.auth import AudienceDep, public_read


class SearchController(Controller):
    path = "/v1/search"
    tags = ["Search"]
    guards = [public_read]

    @get(
        "/",
        operation_id="Search",
        summary="Ranked full-text search over statements and documents",
        responses=http.responses(http.LIST),
    )
    async def search(
        self,
        db: ReadDb,
        audience: AudienceDep,
        q: Annotated[
            str,
            QueryParameter(
                max_length=20_000,
                description=(
                    'What people type: words, "quoted phrases", -excluded words, or, and '
                    "`word*` for words that start with it. Every language matches, each "
                    "stemmed by its own rules. Statements also match their speaker's name. "
                    "Only the first 1000 characters are searched."
                ),
            ),
        ],
        types: Annotated[
            str,
            QueryParameter(
                max_length=100,
                pattern=r"^ *(statement|document) *(, *(statement|document) *)*" + END,
                description="Comma-separated: statement, document (default both).",
            ),
        ] = "statement,document",
        language: http.LanguageFilter = None,
        cursor: http.Cursor = None,
        limit: http.Limit = 25,
    ) -> SearchResults:
        try:
            wanted = {SubjectType(t.strip()) for t in types.split(",") if t.strip()}
        except ValueError:
            raise invalid_field("types", "each type must be statement or document") from None
        return await search(db, q, wanted or set(SubjectType), cursor, limit, audience, language)
