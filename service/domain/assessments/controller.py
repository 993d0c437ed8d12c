"""HTTP routes for assessments and their workflow actions."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
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
from service.domain.history.schemas import HistoryPage
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


class AssessmentController(Controller):
    path = "/v1/assessments"
    tags = ["Assessments"]
    guards = [public_read]

    @post(
        "/",
        guards=[requires_write],
        operation_id="CreateAssessment",
        summary="Create an assessment (a draft)",
        responses=http.responses(http.CREATE),
        response_headers=[http.ETAG_HEADER, http.LOCATION_HEADER],
    )
    async def create_assessment(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[AssessmentCreate],
        tx: WriteTx,
        actor: Actor,
    ) -> Response[Assessment]:
        created = await service.create(tx, data, actor)
        return http.entity_response(
            request,
            created,
            status_code=201,
            headers=http.location(request, f"{self.path}/{created.id}"),
        )

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

    @get(
        "/{id:uuid}",
        operation_id="GetAssessment",
        summary="Get an assessment",
        responses={**http.NOT_MODIFIED, **http.responses(http.READ_ONE)},
        response_headers=[http.ETAG_HEADER],
    )
    async def get_assessment(
        self,
        request: Request[Any, Any, Any],
        db: ReadDb,
        audience: AudienceDep,
        id: http.ResourceId,
    ) -> Response[Assessment]:
        return http.entity_response(request, await service.get(db, id, audience))

    @patch(
        "/{id:uuid}",
        guards=[requires_write],
        operation_id="UpdateAssessment",
        summary="Change a draft assessment (If-Match required)",
        description="Only drafts can be edited: any other state answers 409.",
        responses=http.responses((*http.UPDATE, 409)),
        response_headers=[http.ETAG_HEADER],
    )
    async def update_assessment(
        self,
        request: Request[Any, Any, Any],
        tx: WriteTx,
        actor: Actor,
        id: http.ResourceId,
        data: JSONBody[AssessmentPatch],
        if_match: http.IfMatchHeader = None,
    ) -> Response[Assessment]:
        updated = await service.update(tx, id, data, http.IfMatch(if_match), actor)
        return http.entity_response(request, updated)

    @delete(
        "/{id:uuid}",
        guards=[requires_write],
        operation_id="DeleteAssessment",
        summary="Delete a draft assessment (soft; If-Match required)",
        description="Only drafts can be deleted: retract a published assessment instead (409).",
        responses=http.responses((*http.DELETE, 409)),
    )
    async def delete_assessment(
        self, tx: WriteTx, actor: Actor, id: http.ResourceId, if_match: http.IfMatchHeader = None
    ) -> None:
        await service.delete(tx, id, http.IfMatch(if_match), actor)

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

    @get(
        "/{id:uuid}/history",
        operation_id="ListAssessmentHistory",
        summary="Every change to an assessment, oldest first",
        responses=http.responses(http.HISTORY),
    )
    async def list_assessment_history(
        self,
        db: ReadDb,
        audience: AudienceDep,
        id: http.ResourceId,
        cursor: http.Cursor = None,
        limit: http.Limit = 25,
    ) -> HistoryPage:
        return await service.history(db, id, cursor, limit, audience)


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
