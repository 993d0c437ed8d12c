"""The one SQL statement behind a record: subject, assessments, corroborations and
related items, each related item with its own verification (no query per item)."""

from __future__ import annotations

from uuid import UUID

import msgspec

from service.domain.assessments.repository import ASSESSMENT_JSON
from service.domain.organizations.repository import ORGANIZATION_JSON
from service.domain.subjects import SubjectType
from service.domain.verification import CURRENT_ASSESSMENT
from service.kit.db import Connection
from service.views.items import (
    DOCUMENT_ITEM_JSON,
    PUBLIC_DOCUMENT_ITEM_JSON,
    PUBLIC_STATEMENT_ITEM_JSON,
    STATEMENT_ITEM_JSON,
)
from service.views.records.schemas import RecordParts
from service.web.auth import Audience


def _record_sql(subject_type: SubjectType, public: bool) -> str:
    """The record query for one subject type and audience. For the public, the subject
    and every related item must be published, and drafts are left out."""
    statement_item = PUBLIC_STATEMENT_ITEM_JSON if public else STATEMENT_ITEM_JSON
    document_item = PUBLIC_DOCUMENT_ITEM_JSON if public else DOCUMENT_ITEM_JSON
    only_public = "AND {alias}.visibility = 'public'" if public else ""
    subject = {
        SubjectType.STATEMENT: f"SELECT {statement_item} FROM statements s"
        f" WHERE s.id = $1 AND s.deleted_at IS NULL {only_public.format(alias='s')}",
        SubjectType.DOCUMENT: f"SELECT {document_item} FROM documents d"
        f" WHERE d.id = $1 AND d.deleted_at IS NULL {only_public.format(alias='d')}",
    }[subject_type]
    no_drafts = "AND a.state <> 'draft'" if public else ""
    related_published = "AND coalesce(s.visibility, d.visibility) = 'public'" if public else ""
    return f"""SELECT json_build_object('subject', ({subject}),
    'assessments', coalesce((
        SELECT json_agg({ASSESSMENT_JSON}
            ORDER BY coalesce(a.published_at, a.created_at) DESC, a.created_at DESC, a.id DESC)
        FROM assessments a WHERE a.subject_id = $1 AND a.deleted_at IS NULL {no_drafts}), '[]'),
    'corroborations', coalesce((
        SELECT json_agg(json_build_object(
            'organization', {ORGANIZATION_JSON}, 'url', ev.url, 'assessment_id', ev.assessment_id)
            ORDER BY ev.position)
        FROM ({CURRENT_ASSESSMENT.format(subject="$1")}) AS cur
        JOIN evidence ev ON ev.assessment_id = cur.id
        JOIN organizations o ON o.id = ev.organization_id AND o.deleted_at IS NULL
        WHERE ev.kind = 'confirmation' AND ev.stance = 'supports'), '[]'),
    'related', coalesce((
        SELECT json_agg(json_build_object(
            'relation', json_build_object(
                'id', r.id, 'type', r.type, 'note', r.note,
                'direction', CASE WHEN r.source_id = $1 THEN 'outgoing' ELSE 'incoming' END),
            'item', CASE WHEN s.id IS NOT NULL THEN {statement_item} ELSE {document_item} END)
            ORDER BY r.created_at, r.id)
        FROM relations r
        LEFT JOIN statements s ON s.deleted_at IS NULL AND s.id = CASE
            WHEN r.source_id = $1 THEN r.target_statement_id ELSE r.source_statement_id END
        LEFT JOIN documents d ON d.deleted_at IS NULL AND d.id = CASE
            WHEN r.source_id = $1 THEN r.target_document_id ELSE r.source_document_id END
        WHERE (r.source_id = $1 OR r.target_id = $1) AND r.deleted_at IS NULL
          AND (s.id IS NOT NULL OR d.id IS NOT NULL) {related_published}), '[]'))"""


RECORD_SQL = {
    (subject_type, audience): _record_sql(subject_type, audience is Audience.PUBLIC)
    for subject_type in SubjectType
    for audience in Audience
}


async def record_parts(
    conn: Connection, subject_type: SubjectType, id: UUID, audience: Audience
) -> RecordParts:
    raw = await conn.fetchval(RECORD_SQL[subject_type, audience], id)
    return msgspec.json.decode(raw, type=RecordParts)
