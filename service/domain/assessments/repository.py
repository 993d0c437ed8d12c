"""SQL for assessments, their evidence and their workflow transitions."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from service.domain.assessments.schemas import Assessment, AssessmentCreate, Evidence
from service.domain.crud import Table
from service.domain.subjects import ASSESSMENTS
from service.domain.visibility import PUBLISHED_ASSESSMENT
from service.kit.db import Connection

ASSESSMENT_JSON = """json_build_object(
    'id', a.id,
    'subject', json_build_object('type', a.subject_type, 'id', a.subject_id),
    'verdict', a.verdict, 'headline', a.headline, 'explanation', a.explanation, 'url', a.url,
    'author_organization_id', a.author_organization_id,
    'evidence', coalesce((
        SELECT json_agg(json_build_object(
            'kind', ev.kind, 'url', ev.url, 'statement_id', ev.statement_id,
            'document_id', ev.document_id, 'organization_id', ev.organization_id,
            'stance', ev.stance, 'note', ev.note) ORDER BY ev.position)
        FROM evidence ev WHERE ev.assessment_id = a.id), '[]'),
    'state', a.state, 'published_at', a.published_at, 'retracted_at', a.retracted_at,
    'retraction_reason', a.retraction_reason, 'supersedes_id', a.supersedes_id,
    'version', a.version, 'created_at', a.created_at, 'updated_at', a.updated_at)"""

assessments = Table(
    referent=ASSESSMENTS,
    alias="a",
    json=ASSESSMENT_JSON,
    struct=Assessment,
    public_condition=PUBLISHED_ASSESSMENT,
)

# The subject lives in one of two foreign-key columns (so the database guarantees it
# exists); the generated subject_type and subject_id columns read it back as one.
INSERT_ASSESSMENT = """
INSERT INTO assessments (id, subject_statement_id, subject_document_id, verdict, headline,
    explanation, url, author_organization_id, supersedes_id)
VALUES (coalesce($1, gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING id
"""

INSERT_EVIDENCE = """
INSERT INTO evidence (assessment_id, position, kind, url, statement_id, document_id,
    organization_id, stance, note)
SELECT $1, e.ord - 1, e.kind::evidence_kind, e.url, e.statement_id, e.document_id,
    e.organization_id, e.stance::evidence_stance, e.note
FROM unnest($2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[], $7::text[], $8::text[])
    WITH ORDINALITY AS e (kind, url, statement_id, document_id, organization_id, stance, note, ord)
"""

DELETE_EVIDENCE = "DELETE FROM evidence WHERE assessment_id = $1"

# The subject of a live assessment, to check that a superseded one is about the same.
SELECT_LIVE_SUBJECT = "SELECT subject_id FROM assessments WHERE id = $1 AND deleted_at IS NULL"

# Workflow transitions. The row trigger allows only draft -> published ->
# superseded | retracted and bumps the version; RETURNING gives the version to log.
# clock_timestamp(), not now(): two verdicts published in one transaction (the founding
# example) still get distinct times, and "the latest published" stays well defined.
PUBLISH = """
UPDATE assessments SET state = 'published', published_at = clock_timestamp()
WHERE id = $1 RETURNING version
"""
SUPERSEDE = "UPDATE assessments SET state = 'superseded' WHERE id = $1 RETURNING version"
RETRACT = """
UPDATE assessments SET state = 'retracted', retracted_at = clock_timestamp(), retraction_reason = $2
WHERE id = $1 RETURNING version
"""

# Full text over what a reader sees of the verdict (no index yet: the table is small).
MATCHES_TEXT = (
    "to_tsvector('english', a.headline || ' ' || coalesce(a.explanation, ''))"
    " @@ websearch_to_tsquery('english', {})"
)


async def insert(conn: Connection, data: AssessmentCreate, id: UUID | None) -> UUID:
    subject = data.subject
    new_id: UUID = await conn.fetchval(
        INSERT_ASSESSMENT,
        id,
        subject.id if subject.type == "statement" else None,
        subject.id if subject.type == "document" else None,
        data.verdict,
        data.headline,
        data.explanation,
        data.url,
        data.author_organization_id,
        data.supersedes_id,
    )
    await insert_evidence(conn, new_id, data.evidence)
    return new_id


async def insert_evidence(conn: Connection, assessment_id: UUID, items: Sequence[Evidence]) -> None:
    if not items:
        return
    await conn.execute(
        INSERT_EVIDENCE,
        assessment_id,
        [e.kind for e in items],
        [e.url for e in items],
        [e.statement_id for e in items],
        [e.document_id for e in items],
        [e.organization_id for e in items],
        [e.stance for e in items],
        [e.note for e in items],
    )


async def replace_evidence(
    conn: Connection, assessment_id: UUID, items: Sequence[Evidence]
) -> None:
    await conn.execute(DELETE_EVIDENCE, assessment_id)
    await insert_evidence(conn, assessment_id, items)


async def live_subject_of(conn: Connection, assessment_id: UUID) -> UUID | None:
    """The subject id of a live assessment; None when there is none by that id."""
    subject_id: UUID | None = await conn.fetchval(SELECT_LIVE_SUBJECT, assessment_id)
    return subject_id


async def publish(conn: Connection, assessment_id: UUID) -> int:
    """Publish a locked draft now; return its new version."""
    version: int = await conn.fetchval(PUBLISH, assessment_id)
    return version


async def supersede(conn: Connection, assessment_id: UUID) -> int:
    """Mark a locked published assessment superseded; return its new version."""
    version: int = await conn.fetchval(SUPERSEDE, assessment_id)
    return version


async def retract(conn: Connection, assessment_id: UUID, reason: str) -> int:
    """Retract a locked published assessment now; return its new version."""
    version: int = await conn.fetchval(RETRACT, assessment_id, reason)
    return version
