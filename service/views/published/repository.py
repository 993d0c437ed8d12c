"""SQL of the public read of one statement or document (`service.py`): one statement
per read, public audience only. The card, oEmbed and ClaimReview read the subject here;
the badges' own query (views/badges/repository.py) shares its live-and-public condition.

Whoever asks, only a live, public subject is found, and only published assessments
count: what these endpoints produce is shown on public pages.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from service.domain import appearances
from service.domain.subjects import SubjectType
from service.domain.verification import CURRENT_ASSESSMENT, verification_json
from service.kit.db import Connection
from service.views.published.schemas import PublicSubject

# Each subject type's table and the alias its queries use.
SUBJECT_TABLES = {
    SubjectType.STATEMENT: ("statements", "s"),
    SubjectType.DOCUMENT: ("documents", "d"),
}


def live_public(subject_type: SubjectType) -> str:
    """The FROM and WHERE of a read of one live, public subject, its id as $1."""
    table, alias = SUBJECT_TABLES[subject_type]
    return (
        f"FROM {table} {alias} WHERE {alias}.id = $1"
        f" AND {alias}.deleted_at IS NULL AND {alias}.visibility = 'public'"
    )


def _party(kind: str, alias: str) -> str:
    url = f"{alias}.url" if kind == "organization" else "NULL"
    return (
        f"json_build_object('kind', '{kind}', 'name', {alias}.name, 'url', {url},"
        f" 'same_as', {alias}.same_as)"
    )


def _current_assessment(subject: str) -> str:
    return f"""(SELECT json_build_object(
        'id', a.id, 'verdict', a.verdict, 'headline', a.headline, 'url', a.url,
        'published_at', a.published_at,
        'author', (SELECT {_party("organization", "o")} FROM organizations o
                   WHERE o.id = a.author_organization_id AND o.deleted_at IS NULL),
        'corroborated_by', (SELECT coalesce(json_agg(o.name ORDER BY o.name), '[]')
                   FROM organizations o
                   WHERE o.deleted_at IS NULL AND o.id IN (
                       SELECT ev.organization_id FROM evidence ev
                       WHERE ev.assessment_id = a.id AND ev.kind = 'confirmation'
                         AND ev.stance = 'supports')))
    FROM ({CURRENT_ASSESSMENT.format(subject=subject)}) AS cur JOIN assessments a ON a.id = cur.id)"""


_STATEMENT_SUBJECT = f"""SELECT json_build_object(
    'type', 'statement', 'id', s.id, 'claim', s.text, 'language', s.language,
    'said_at', s.said_at, 'dated_on', NULL,
    'author', (SELECT {_party("person", "p")} FROM people p
               WHERE p.id = s.speaker_id AND p.deleted_at IS NULL),
    'appearances', {appearances.appearances_json("statement_id", "s.id")},
    'verification', {verification_json("s.id", public=True)},
    'assessment', {_current_assessment("s.id")})
{live_public(SubjectType.STATEMENT)}"""

# A document's author for ClaimReview is its issuer (an organization), else the person
# who wrote it.
_DOCUMENT_SUBJECT = f"""SELECT json_build_object(
    'type', 'document', 'id', d.id, 'claim', d.title, 'language', d.language,
    'said_at', NULL, 'dated_on', d.dated_on,
    'author', coalesce(
        (SELECT {_party("organization", "o")} FROM organizations o
         WHERE o.id = d.issuer_id AND o.deleted_at IS NULL),
        (SELECT {_party("person", "p")} FROM people p
         WHERE p.id = d.author_id AND p.deleted_at IS NULL)),
    'appearances', {appearances.appearances_json("document_id", "d.id")},
    'verification', {verification_json("d.id", public=True)},
    'assessment', {_current_assessment("d.id")})
{live_public(SubjectType.DOCUMENT)}"""

PUBLIC_SUBJECT_SQL = {
    SubjectType.STATEMENT: _STATEMENT_SUBJECT,
    SubjectType.DOCUMENT: _DOCUMENT_SUBJECT,
}


async def public_subject(
    conn: Connection, subject_type: SubjectType, id: UUID
) -> PublicSubject | None:
    """The subject with what the card and ClaimReview show; None unless it is published."""
    raw = await conn.fetchval(PUBLIC_SUBJECT_SQL[subject_type], id)
    return None if raw is None else msgspec.json.decode(raw, type=PublicSubject)
