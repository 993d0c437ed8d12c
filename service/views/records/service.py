"""The one-call record of a statement or a document: the whole story, time-sorted."""

from __future__ import annotations

from datetime import UTC, datetime, time
from uuid import UUID

from service.domain.assessments.schemas import Assessment, AssessmentState
from service.domain.history.schemas import ResourceType
from service.domain.subjects import VERDICT_LABELS, SubjectType
from service.kit.db import Connection
from service.kit.errors import NotFound
from service.views.items import DocumentItem, StatementItem
from service.views.records import repository
from service.views.records.schemas import (
    DocumentRecord,
    RecordParts,
    StatementRecord,
    TimelineEntry,
    TimelineKind,
    TimelineRef,
)
from service.web.auth import Audience


async def document_record(conn: Connection, id: UUID, audience: Audience) -> DocumentRecord:
    parts = await repository.record_parts(conn, SubjectType.DOCUMENT, id, audience)
    if not isinstance(parts.subject, DocumentItem):
        raise NotFound(f"no document with id {id}")
    return DocumentRecord(
        subject=parts.subject,
        assessments=parts.assessments,
        corroborations=parts.corroborations,
        related=parts.related,
        timeline=timeline(parts),
    )


async def statement_record(conn: Connection, id: UUID, audience: Audience) -> StatementRecord:
    parts = await repository.record_parts(conn, SubjectType.STATEMENT, id, audience)
    if not isinstance(parts.subject, StatementItem):
        raise NotFound(f"no statement with id {id}")
    return StatementRecord(
        subject=parts.subject,
        assessments=parts.assessments,
        corroborations=parts.corroborations,
        related=parts.related,
        timeline=timeline(parts),
    )


def timeline(parts: RecordParts) -> list[TimelineEntry]:
    """Dated, surfaced, said, appeared, assessed, superseded and retracted moments of the
    subject and its related items, oldest first."""
    assert parts.subject is not None
    entries = _item_moments(parts.subject, with_appearances=True)
    for related in parts.related:
        entries += _item_moments(related.item, with_appearances=False)
    for assessment in parts.assessments:
        entries += _assessment_moments(assessment)
    return sorted(entries, key=lambda e: e.at)


def _item_moments(
    item: StatementItem | DocumentItem, *, with_appearances: bool
) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    if isinstance(item, StatementItem):
        ref = TimelineRef(type=ResourceType.STATEMENT, id=item.id)
        if item.said_at:
            speaker = item.speaker.name if item.speaker else "Someone"
            entries.append(
                TimelineEntry(
                    at=item.said_at,
                    kind=TimelineKind.SAID,
                    summary=f"{speaker} said: “{_clip(item.text)}”",
                    ref=ref,
                )
            )
    else:
        ref = TimelineRef(type=ResourceType.DOCUMENT, id=item.id)
        if item.dated_on:
            entries.append(
                TimelineEntry(
                    at=datetime.combine(item.dated_on, time(), tzinfo=UTC),
                    kind=TimelineKind.DATED,
                    summary=f"{item.kind.value.capitalize()} dated: {_clip(item.title)}",
                    ref=ref,
                )
            )
        first_seen = min((a.published_at for a in item.appearances if a.published_at), default=None)
        if with_appearances and first_seen:
            entries.append(
                TimelineEntry(
                    at=first_seen,
                    kind=TimelineKind.SURFACED,
                    summary=f"Surfaced: {_clip(item.surfaced_via or item.title)}",
                    ref=ref,
                )
            )
    if with_appearances:
        entries += [
            TimelineEntry(
                at=a.published_at,
                kind=TimelineKind.APPEARED,
                summary=f"Appeared at {a.url}",
                ref=ref,
            )
            for a in item.appearances
            if a.published_at
        ]
    return entries


def _assessment_moments(assessment: Assessment) -> list[TimelineEntry]:
    ref = TimelineRef(type=ResourceType.ASSESSMENT, id=assessment.id)
    entries: list[TimelineEntry] = []
    if assessment.published_at:
        label = VERDICT_LABELS[assessment.verdict]
        entries.append(
            TimelineEntry(
                at=assessment.published_at,
                kind=TimelineKind.ASSESSED,
                summary=f"Assessed {label}: {_clip(assessment.headline)}",
                ref=ref,
            )
        )
    if assessment.state is AssessmentState.SUPERSEDED:
        # A non-draft changes only by a transition, so updated_at is when it was superseded.
        entries.append(
            TimelineEntry(
                at=assessment.updated_at,
                kind=TimelineKind.SUPERSEDED,
                summary=f"Superseded: {_clip(assessment.headline)}",
                ref=ref,
            )
        )
    if assessment.retracted_at:
        entries.append(
            TimelineEntry(
                at=assessment.retracted_at,
                kind=TimelineKind.RETRACTED,
                summary=f"Retracted: {_clip(assessment.retraction_reason or assessment.headline)}",
                ref=ref,
            )
        )
    return entries


def _clip(text: str, limit: int = 140) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
