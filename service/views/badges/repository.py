"""SQL for badges: a badge depends on the subject's current published verdict alone, so
a miss of the cache reads just that, with the public read's live-and-public condition
(`views/published/repository.py`)."""

from __future__ import annotations

from uuid import UUID

from service.domain.subjects import SubjectType, Verdict
from service.domain.verification import CURRENT_ASSESSMENT
from service.kit.db import Connection
from service.views.published.repository import SUBJECT_TABLES, live_public

# A row when the subject is published; `verdict` is NULL while it is unassessed.
CURRENT_VERDICT_SQL = {
    subject_type: f"""SELECT (SELECT cur.verdict FROM ({CURRENT_ASSESSMENT.format(subject=f"{alias}.id")}) AS cur) AS verdict
    {live_public(subject_type)}"""
    for subject_type, (_, alias) in SUBJECT_TABLES.items()
}


async def current_verdict(
    conn: Connection, subject_type: SubjectType, id: UUID
) -> tuple[bool, Verdict | None]:
    """(published, verdict): whether the subject is live and public, and its current
    published verdict (None while unassessed)."""
    row = await conn.fetchrow(CURRENT_VERDICT_SQL[subject_type], id)
    if row is None:
        return False, None
    verdict = row["verdict"]
    return True, None if verdict is None else Verdict(verdict)
