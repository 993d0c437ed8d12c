"""The one SQL statement behind a record: subject, assessments, corroborations and
related items, each related item with its own verification (no query per item)."""

from __future__ import annotations

from uuid import UUID

import msgspec

from service.assessments.repository import ASSESSMENT_JSON
from service.db import Connection
from service.documents.repository import DOCUMENT_ITEM_JSON
from service.organizations.repository import ORGANIZATION_JSON
from service.records.schemas import RecordParts
from service.statements.repository import STATEMENT_ITEM_JSON
from service.subjects import SubjectType
from service.verification import CURRENT_ASSESSMENT

_SUBJECT = {
    SubjectType.STATEMENT: f"SELECT {STATEMENT_ITEM_JSON} FROM statements s WHERE s.id = $1 AND s.deleted_at IS NULL",
    SubjectType.DOCUMENT: f"SELECT {DOCUMENT_ITEM_JSON} FROM documents d WHERE d.id = $1 AND d.deleted_at IS NULL",
}

_REST = f"""
    'assessments', coalesce((
        SELECT json_agg({ASSESSMENT_JSON}
            ORDER BY coalesce(a.published_at, a.created_at) DESC, a.created_at DESC, a.id DESC)
        FROM assessments a WHERE a.subject_id = $1 AND a.deleted_at IS NULL), '[]'),
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
            'item', CASE WHEN s.id IS NOT NULL THEN {STATEMENT_ITEM_JSON} ELSE {DOCUMENT_ITEM_JSON} END)
            ORDER BY r.created_at, r.id)
        FROM relations r
        LEFT JOIN statements s ON s.deleted_at IS NULL AND s.id = CASE
            WHEN r.source_id = $1 THEN r.target_statement_id ELSE r.source_statement_id END
        LEFT JOIN documents d ON d.deleted_at IS NULL AND d.id = CASE
            WHEN r.source_id = $1 THEN r.target_document_id ELSE r.source_document_id END
        WHERE (r.source_id = $1 OR r.target_id = $1) AND r.deleted_at IS NULL
          AND (s.id IS NOT NULL OR d.id IS NOT NULL)), '[]')"""

RECORD_SQL = {
    subject_type: f"SELECT json_build_object('subject', ({subject_sql}), {_REST})"
    for subject_type, subject_sql in _SUBJECT.items()
}


async def record_parts(conn: Connection, subject_type: SubjectType, id: UUID) -> RecordParts:
    raw = await conn.fetchval(RECORD_SQL[subject_type], id)
    return msgspec.json.decode(raw, type=RecordParts)
