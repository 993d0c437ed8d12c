"""Rules for assessments: the verdict must fit the subject, a superseded assessment
must be about the same subject, only drafts change, and the workflow
draft -> published -> superseded | retracted with an event for every step.

The database enforces the same workflow with triggers and the verdict rule with the
CHECK `verdict_fits_subject`; the checks here come first so that a caller gets a 409
or a 422 that names the field instead of a generic one from the backstop.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from service.domain.assessments import repository
from service.domain.assessments.schemas import (
    Assessment,
    AssessmentCreate,
    AssessmentPatch,
    AssessmentState,
    Evidence,
)
from service.domain.crud import Page, Reference, ResourceService, live_ids, patch_values
from service.domain.history.repository import record_event
from service.domain.history.schemas import EventAction, ResourceType
from service.domain.subjects import (
    DOCUMENTS,
    ORGANIZATIONS,
    STATEMENTS,
    SUBJECT_REFERENTS,
    VERDICTS_BY_SUBJECT,
    Referent,
    SubjectRef,
    SubjectType,
    Verdict,
)
from service.kit.db import Connection
from service.kit.errors import Conflict, FieldError, InvalidInput, NotFound
from service.kit.sql import Conditions
from service.web.auth import Audience
from service.web.http import IfMatch

# The resource each id field of a piece of evidence names.
EVIDENCE_REFERENCES: tuple[tuple[str, Referent], ...] = (
    ("statement_id", STATEMENTS),
    ("document_id", DOCUMENTS),
    ("organization_id", ORGANIZATIONS),
)


class AssessmentService(ResourceService[Assessment, AssessmentCreate, AssessmentPatch]):
    table = repository.assessments
    resource_type = ResourceType.ASSESSMENT
    child_fields = frozenset({"evidence"})

    # ---- hooks of the shared write flow ------------------------------------------------

    def references(self, values: dict[str, Any]) -> Sequence[Reference]:
        refs: list[Reference] = []
        subject: SubjectRef | None = values.get("subject")
        if subject is not None:
            refs.append(Reference("subject.id", SUBJECT_REFERENTS[subject.type], subject.id))
        if values.get("author_organization_id"):
            refs.append(
                Reference("author_organization_id", ORGANIZATIONS, values["author_organization_id"])
            )
        evidence: Sequence[Evidence] = values.get("evidence") or ()
        for i, item in enumerate(evidence):
            for field, referent in EVIDENCE_REFERENCES:
                if (ref_id := getattr(item, field)) is not None:
                    refs.append(Reference(f"evidence[{i}].{field}", referent, ref_id))
        return refs

    async def insert(self, conn: Connection, data: AssessmentCreate, id: UUID | None) -> UUID:
        return await repository.insert(conn, data, id)

    async def replace_children(self, conn: Connection, id: UUID, values: dict[str, Any]) -> None:
        if "evidence" in values:
            await repository.replace_evidence(conn, id, values["evidence"])

    # ---- writes ---------------------------------------------------------------------------

    async def create(
        self, conn: Connection, data: AssessmentCreate, actor: str | None, *, id: UUID | None = None
    ) -> Assessment:
        """Create a draft. 422 when the verdict does not fit the subject's type, when
        `supersedes_id` is not a live assessment of the same subject, or when the
        subject or anything the evidence names is missing or deleted."""
        errors = _verdict_errors(data.subject.type, data.verdict)
        if data.supersedes_id is not None:
            errors += await _supersedes_errors(conn, data.subject.id, data.supersedes_id, None)
        _raise_invalid(errors)
        return await super().create(conn, data, actor, id=id)

    async def update(
        self,
        conn: Connection,
        id: UUID,
        patch: AssessmentPatch,
        if_match: IfMatch,
        actor: str | None,
    ) -> Assessment:
        """Change a draft: 412 on a stale If-Match, 409 unless the assessment is a
        draft, 422 for a verdict that does not fit its subject or a bad `supersedes_id`."""
        current = await self._lock(conn, id, if_match)
        if current.state is not AssessmentState.DRAFT:
            raise Conflict(f"only a draft can be edited; this assessment is {current.state}")
        values = patch_values(patch)
        errors: list[FieldError] = []
        if "verdict" in values:
            errors += _verdict_errors(current.subject.type, values["verdict"])
        supersedes_id = values.get("supersedes_id")
        if supersedes_id is not None and supersedes_id != current.supersedes_id:
            errors += await _supersedes_errors(conn, current.subject.id, supersedes_id, id)
        _raise_invalid(errors)
        # The shared flow locks and reads the row again; the lock is already ours in
        # this transaction, so that costs one cheap query and keeps the flow in one place.
        return await super().update(conn, id, patch, if_match, actor)

    async def delete(
        self, conn: Connection, id: UUID, if_match: IfMatch, actor: str | None
    ) -> None:
        """Soft-delete a draft; anything published stays on the record (409)."""
        current = await self._lock(conn, id, if_match)
        if current.state is AssessmentState.PUBLISHED:
            raise Conflict("a published assessment cannot be deleted; retract it instead")
        if current.state is not AssessmentState.DRAFT:
            raise Conflict(
                f"a {current.state} assessment stays on the record and cannot be deleted"
            )
        await super().delete(conn, id, if_match, actor)

    # ---- workflow -------------------------------------------------------------------------

    async def publish(
        self, conn: Connection, id: UUID, if_match: IfMatch, actor: str | None
    ) -> Assessment:
        """Publish a draft now. If it supersedes an assessment that is `published`,
        that one becomes `superseded` in the same transaction. 409 unless a draft
        (so of concurrent publishes exactly one wins) or when its subject was deleted."""
        current = await self._lock(conn, id, if_match)
        if current.state is not AssessmentState.DRAFT:
            raise Conflict(f"only a draft can be published; this assessment is {current.state}")
        subject = SUBJECT_REFERENTS[current.subject.type]
        if not await live_ids(conn, subject, [current.subject.id]):
            raise Conflict(
                f"its subject, {subject.noun} {current.subject.id}, was deleted;"
                " a verdict on it cannot be published"
            )
        version = await repository.publish(conn, id)
        await record_event(
            conn,
            self.resource_type,
            id,
            EventAction.PUBLISHED,
            version,
            actor,
            ["published_at", "state"],
        )
        if current.supersedes_id is not None:
            # Locked too, so that a concurrent retraction of the old verdict and this
            # supersede are applied one after the other, never both.
            old = await self.table.get(conn, current.supersedes_id, lock=True)
            # Only a published verdict is replaced; one already superseded or retracted
            # (or a deleted draft) keeps its state.
            if old is not None and old.state is AssessmentState.PUBLISHED:
                old_version = await repository.supersede(conn, old.id)
                await record_event(
                    conn,
                    self.resource_type,
                    old.id,
                    EventAction.SUPERSEDED,
                    old_version,
                    actor,
                    ["state"],
                )
        return await self.get(conn, id)

    async def retract(
        self, conn: Connection, id: UUID, reason: str, if_match: IfMatch, actor: str | None
    ) -> Assessment:
        """Retract a published assessment now, giving the reason; 409 in any other state."""
        current = await self._lock(conn, id, if_match)
        if current.state is not AssessmentState.PUBLISHED:
            raise Conflict(
                f"only a published assessment can be retracted; this assessment is {current.state}"
            )
        version = await repository.retract(conn, id, reason)
        await record_event(
            conn,
            self.resource_type,
            id,
            EventAction.RETRACTED,
            version,
            actor,
            ["retracted_at", "retraction_reason", "state"],
        )
        return await self.get(conn, id)

    # ---- reads ------------------------------------------------------------------------------

    async def list(
        self,
        conn: Connection,
        *,
        q: str | None,
        updated_since: datetime | None,
        subject_id: UUID | None,
        state: AssessmentState | None,
        verdict: Verdict | None,
        cursor: str | None,
        limit: int,
        audience: Audience = Audience.NEWSROOM,
    ) -> Page[Assessment]:
        conditions = Conditions()
        if q:
            conditions.add(repository.MATCHES_TEXT, q)
        if updated_since:
            conditions.add("a.updated_at >= {}", updated_since)
        if subject_id:
            conditions.add("a.subject_id = {}", subject_id)
        if state:
            conditions.add("a.state = {}", state)
        if verdict:
            conditions.add("a.verdict = {}", verdict)
        return await self.page(conn, conditions, cursor, limit, audience)

    # ---- helpers ----------------------------------------------------------------------------

    async def _lock(self, conn: Connection, id: UUID, if_match: IfMatch) -> Assessment:
        """The live assessment, locked for this transaction, after the If-Match check:
        concurrent writers queue here and each sees the state its predecessor left."""
        current = await self.table.get(conn, id, lock=True)
        if current is None:
            raise NotFound(f"no assessment with id {id}")
        if_match.check(current)
        return current


def _verdict_errors(subject_type: SubjectType, verdict: Verdict) -> list[FieldError]:
    if verdict in VERDICTS_BY_SUBJECT[subject_type]:
        return []
    allowed = ", ".join(v for v in Verdict if v in VERDICTS_BY_SUBJECT[subject_type])
    return [
        FieldError(
            field="verdict",
            message=f"`{verdict}` is not a verdict on a {subject_type}; use one of {allowed}",
        )
    ]


async def _supersedes_errors(
    conn: Connection, subject_id: UUID, supersedes_id: UUID, own_id: UUID | None
) -> list[FieldError]:
    """`supersedes_id` must name another live assessment of the same subject."""
    if supersedes_id == own_id:
        message = "an assessment cannot supersede itself"
    else:
        found = await repository.live_subject_of(conn, supersedes_id)
        if found is None:
            message = f"no live assessment with id {supersedes_id}"
        elif found != subject_id:
            message = f"assessment {supersedes_id} is about another subject"
        else:
            return []
    return [FieldError(field="supersedes_id", message=message)]


def _raise_invalid(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInput("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)


assessment_service = AssessmentService()
