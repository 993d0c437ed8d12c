"""HTTP routes for assessments and their workflow actions."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.openapi.spec import OpenAPIType, Reference, Schema
from litestar.params import HeaderParameter, JSONBody, QueryParameter

from service.domain.assessments.schemas import (
    Assessment,
    AssessmentCreate,
    AssessmentPage,
    AssessmentPatch,
    AssessmentState,
    RetractRequest,
)
from service.domain.assessments.service import assessment_service as service
from service.domain.routes import ResourceController, ResourceRoutes, Texts
from service.domain.subjects import Verdict
from service.kit.db import ReadDb, WriteTx
from service.kit.errors import invalid_field
from service.web import http
from service.web.auth import Actor, AudienceDep, public_read, requires_write

# Workflow actions honour If-Match when given, unlike PATCH and DELETE which need it.
OptionalIfMatchHeader = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        description="Optional: the ETag you last read; when given and stale, the answer is 412.",
    ),
]
SubjectIdFilter = Annotated[
    UUID | None,
    QueryParameter(description="Only assessments of this statement or document."),
]
# `state` is a reserved parameter name in Litestar (the app state), so the filter is
# bound under another Python name; it is read as text and converted in the handler so
# that a bad value is a 422 naming `state`, not the Python name. The schema names the
# AssessmentState enum, so that generated clients take that enum, not an anonymous one.
StateFilter = Annotated[
    str | None,
    QueryParameter(
        name="state",
        description="Only assessments in this state.",
        schema_extra={
            "one_of": [
                Reference(ref="#/components/schemas/AssessmentState"),
                Schema(type=OpenAPIType.NULL),
            ]
        },
    ),
]
VerdictFilter = Annotated[
    Verdict | None, QueryParameter(description="Only assessments with this verdict.")
]
TextQuery = Annotated[
    str | None,
    QueryParameter(
        max_length=1000,
        description='Full text on headline and explanation: words, "quoted phrases", -excluded, or.',
    ),
]


ASSESSMENT_ROUTES = ResourceRoutes(
    name="Assessment",
    function="assessment",
    noun="an assessment",
    service=service,
    struct=Assessment,
    create=AssessmentCreate,
    patch=AssessmentPatch,
    create_texts=Texts("Create an assessment (a draft)"),
    update_texts=Texts(
        "Change a draft assessment (If-Match required)",
        description="Only drafts can be edited: any other state answers 409.",
        also=(409,),
    ),
    delete_texts=Texts(
        "Delete a draft assessment (soft; If-Match required)",
        description="Only drafts can be deleted: retract a published assessment instead (409).",
        also=(409,),
    ),
)


class AssessmentController(ResourceController, routes=ASSESSMENT_ROUTES):
    path = "/v1/assessments"
    tags = ["Assessments"]
    guards = [public_read]

    @get(
        "/",
        operation_id="ListAssessments",
        summary="List assessments, newest first",
        responses=http.responses(http.LIST),
    )
    async def list_assessments(
        self,
        db: ReadDb,
        audience: AudienceDep,
        q: TextQuery = None,
        updated_since: http.UpdatedSince = None,
        subject_id: SubjectIdFilter = None,
        state_filter: StateFilter = None,
        verdict: VerdictFilter = None,
        cursor: http.Cursor = None,
        limit: http.Limit = 25,
    ) -> AssessmentPage:
        page = await service.list(
            db,
            q=q,
            updated_since=updated_since,
            subject_id=subject_id,
            state=_state(state_filter),
            verdict=verdict,
            audience=audience,
            cursor=cursor,
            limit=limit,
        )
        return AssessmentPage(items=page.items, next_cursor=page.next_cursor)

    @post(
        "/{id:uuid}/publish",
        guards=[requires_write],
        operation_id="PublishAssessment",
        summary="Publish a draft assessment",
        description=(
            "Sets `state` to `published` and `published_at` to now. When `supersedes_id` "
            "names a `published` assessment, that one becomes `superseded` in the same "
            "transaction. 409 unless the assessment is a draft."
        ),
        status_code=200,
        responses=http.responses((404, 409, 412, 503)),
        response_headers=[http.ETAG_HEADER],
    )
    async def publish_assessment(
        self,
        request: Request[Any, Any, Any],
        tx: WriteTx,
        actor: Actor,
        id: http.ResourceId,
        if_match: OptionalIfMatchHeader = None,
    ) -> Response[Assessment]:
        published = await service.publish(tx, id, http.OptionalIfMatch(if_match), actor)
        return http.entity_response(request, published)

    @post(
        "/{id:uuid}/retract",
        guards=[requires_write],
        operation_id="RetractAssessment",
        summary="Retract a published assessment",
        description=(
            "Sets `state` to `retracted`, `retracted_at` to now and `retraction_reason` to "
            "the reason given. 409 unless the assessment is `published`."
        ),
        status_code=200,
        responses=http.responses((404, 409, 412, 415, 422, 503)),
        response_headers=[http.ETAG_HEADER],
    )
    async def retract_assessment(
        self,
        request: Request[Any, Any, Any],
        tx: WriteTx,
        actor: Actor,
        id: http.ResourceId,
        data: JSONBody[RetractRequest],
        if_match: OptionalIfMatchHeader = None,
    ) -> Response[Assessment]:
        retracted = await service.retract(
            tx, id, data.reason, http.OptionalIfMatch(if_match), actor
        )
        return http.entity_response(request, retracted)


def _state(value: str | None) -> AssessmentState | None:
    if value is None:
        return None
    try:
        return AssessmentState(value)
    except ValueError:
        allowed = ", ".join(s.value for s in AssessmentState)
        raise invalid_field(
            "state", f"Invalid enum value '{value}'; use one of {allowed}"
        ) from None
