"""The read-only `verification` object on every statement and document.

It is kept in the `verifications` table by triggers (migration 0016), in the same
transaction as every write that moves it, so it can never disagree with the assessments
and relations committed at that moment: right after a publish, a supersede, a retraction
or a deleted relation, the next read shows it.
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

    `corroborations` counts the distinct live organizations cited as `confirmation`
    evidence with stance `supports` in that assessment (those the record lists); `denials` counts live `denies` relations
    pointing at the subject from live statements or documents.
    """

    status: VerificationStatus
    verdict: Verdict | None
    label: str | None
    assessment_id: UUID | None
    published_at: datetime | None
    corroborations: int
    denials: int


# The read model (migration 0016): one row per statement and document, kept current by
# triggers in the transaction of every write that moves it, so a read looks it up by
# primary key instead of aggregating assessments, evidence and relations.

# The current assessment (the newest published one), or no row while unassessed.
CURRENT_ASSESSMENT = """
    SELECT v.assessment_id AS id, v.verdict, v.published_at FROM verifications v
    WHERE v.subject_id = {subject} AND v.assessment_id IS NOT NULL"""


def _object(row: str, *, public: bool) -> str:
    """The verification object built from `row`, a verifications row (or a row of
    `verifications_from_scratch`, which has the same columns)."""
    denials = f"{row}.public_denials" if public else f"{row}.denials"
    return f"""json_build_object(
        'status', CASE WHEN {row}.assessment_id IS NULL THEN 'unassessed' ELSE 'assessed' END,
        'verdict', {row}.verdict,
        'label', verdict_label({row}.verdict),
        'assessment_id', {row}.assessment_id,
        'published_at', {row}.published_at,
        'corroborations', {row}.corroborations,
        'denials', {denials})"""


UNASSESSED = """json_build_object('status', 'unassessed', 'verdict', NULL, 'label', NULL,
        'assessment_id', NULL, 'published_at', NULL, 'corroborations', 0, 'denials', 0)"""


def verification_json(subject: str, *, public: bool = False) -> str:
    """A SQL expression building the verification object of the subject whose id is
    the SQL expression `subject` (e.g. `s.id`); `public` counts only denials that the
    public may see (from public statements and documents)."""
    # No row yet only inside the statement that inserts the subject (its row comes from
    # an AFTER trigger, which that statement's snapshot does not see): a new subject is
    # unassessed and denied by nothing.
    return (
        f"coalesce((SELECT {_object('v', public=public)} FROM verifications v"
        f" WHERE v.subject_id = {subject}), {UNASSESSED})"
    )


def from_scratch_json(subject: str, *, public: bool = False) -> str:
    """The same object computed from the assessments, evidence and relations by the
    definition the read model is kept with (`verifications_from_scratch`): what the
    maintained row must always equal."""
    return (
        f"(SELECT {_object('f', public=public)}"
        f" FROM verifications_from_scratch(ARRAY[{subject}]::uuid[]) f)"
    )


def current_verdict_is(subject: str) -> str:
    """A condition: the subject's current verdict equals the next parameter (`{}`)."""
    return (
        f"{subject} IN (SELECT v.subject_id FROM verifications v WHERE v.verdict = {{}}::verdict)"
    )


def related_to(subject: str) -> str:
    """A condition: a live relation links the subject and the next parameter (`{0}`)."""
    return f"""EXISTS (SELECT 1 FROM relations r WHERE r.deleted_at IS NULL
        AND ((r.source_id = {subject} AND r.target_id = {{0}})
          OR (r.target_id = {subject} AND r.source_id = {{0}})))"""
