"""The read-only `verification` object on every statement and document.

It is computed in the same SQL statement that reads the subject, so it can never
disagree with the assessments and relations committed at that moment: right after a
publish, a supersede, a retraction or a deleted relation, the next read shows it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

import msgspec

from service.domain.subjects import Verdict


class VerificationStatus(StrEnum):
    ASSESSED = "assessed"
    UNASSESSED = "unassessed"


class Verification(msgspec.Struct, kw_only=True):
    """The latest published assessment of the subject, with counts that back it.

    `corroborations` counts the distinct organizations cited as `confirmation` evidence
    with stance `supports` in that assessment; `denials` counts live `denies` relations
    pointing at the subject from live statements or documents.
    """

    status: VerificationStatus
    verdict: Verdict | None
    label: str | None
    assessment_id: UUID | None
    published_at: datetime | None
    corroborations: int
    denials: int


# The current assessment: the newest one in state `published` (superseded and retracted
# ones no longer speak for the subject; drafts never do).
CURRENT_ASSESSMENT = """
    SELECT a.id, a.verdict, a.published_at FROM assessments a
    WHERE a.subject_id = {subject} AND a.state = 'published' AND a.deleted_at IS NULL
    ORDER BY a.published_at DESC, a.id DESC LIMIT 1"""

LIVE_DENIALS = """
    SELECT count(*) FROM relations r
    LEFT JOIN statements rs ON rs.id = r.source_statement_id
    LEFT JOIN documents rd ON rd.id = r.source_document_id
    WHERE r.target_id = {subject} AND r.type = 'denies' AND r.deleted_at IS NULL
      AND coalesce(rs.deleted_at, rd.deleted_at) IS NULL {and_published}"""


def verification_json(subject: str, *, public: bool = False) -> str:
    """A SQL expression building the verification object of the subject whose id is
    the SQL expression `subject` (e.g. `s.id`); `public` counts only denials that the
    public may see (from public statements and documents)."""
    current = CURRENT_ASSESSMENT.format(subject=subject)
    denials = LIVE_DENIALS.format(
        subject=subject,
        and_published="AND coalesce(rs.visibility, rd.visibility) = 'public'" if public else "",
    )
    return f"""(SELECT json_build_object(
        'status', CASE WHEN cur.id IS NULL THEN 'unassessed' ELSE 'assessed' END,
        'verdict', cur.verdict,
        'label', verdict_label(cur.verdict),
        'assessment_id', cur.id,
        'published_at', cur.published_at,
        'corroborations', (
            SELECT count(DISTINCT ev.organization_id) FROM evidence ev
            WHERE ev.assessment_id = cur.id AND ev.kind = 'confirmation' AND ev.stance = 'supports'),
        'denials', ({denials}))
    FROM (SELECT 1) AS one LEFT JOIN LATERAL ({current}) AS cur ON true)"""


def current_verdict_is(subject: str) -> str:
    """A condition: the subject's current verdict equals the next parameter (`{}`)."""
    return f"(SELECT cur.verdict FROM ({CURRENT_ASSESSMENT.format(subject=subject)}) AS cur) = {{}}::verdict"


def related_to(subject: str) -> str:
    """A condition: a live relation links the subject and the next parameter (`{0}`)."""
    return f"""EXISTS (SELECT 1 FROM relations r WHERE r.deleted_at IS NULL
        AND ((r.source_id = {subject} AND r.target_id = {{0}})
          OR (r.target_id = {subject} AND r.source_id = {{0}})))"""
