"""The registry of the record's tables, and what relations and assessments point at: a
statement or a document, with the verdict vocabularies that fit each.

Each table is named here once (`Referent`). A field that points at another resource
(`speaker_id`, `issuer_id`, a relation's end) names the referent it points at, and the
shared write flow (service/domain/crud.py) checks that the row is live; so no resource
folder imports another to check a reference, and a new resource adds one line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

import msgspec


@dataclass(frozen=True)
class Referent:
    """A table of the record that rows and requests point at by id."""

    table: str
    # The resource's name in messages: "no live person with id ...".
    noun: str


ORGANIZATIONS = Referent("organizations", "organization")
PEOPLE = Referent("people", "person")
DOCUMENTS = Referent("documents", "document")
STATEMENTS = Referent("statements", "statement")
RELATIONS = Referent("relations", "relation")
ASSESSMENTS = Referent("assessments", "assessment")
REFERENTS = (ORGANIZATIONS, PEOPLE, DOCUMENTS, STATEMENTS, RELATIONS, ASSESSMENTS)


class SubjectType(StrEnum):
    STATEMENT = "statement"
    DOCUMENT = "document"


class SubjectRef(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A reference to a statement or a document."""

    type: SubjectType
    id: UUID


class Verdict(StrEnum):
    """Statement verdicts (`true` … `unverifiable`) and document verdicts
    (`authentic` … `fabricated`); each fits only its own subject type."""

    TRUE = "true"
    MOSTLY_TRUE = "mostly_true"
    MIXED = "mixed"
    MISLEADING = "misleading"
    MOSTLY_FALSE = "mostly_false"
    FALSE = "false"
    UNVERIFIABLE = "unverifiable"
    AUTHENTIC = "authentic"
    LIKELY_AUTHENTIC = "likely_authentic"
    UNVERIFIED = "unverified"
    DISPUTED = "disputed"
    ALTERED = "altered"
    FABRICATED = "fabricated"


STATEMENT_VERDICTS = frozenset(
    {
        Verdict.TRUE,
        Verdict.MOSTLY_TRUE,
        Verdict.MIXED,
        Verdict.MISLEADING,
        Verdict.MOSTLY_FALSE,
        Verdict.FALSE,
        Verdict.UNVERIFIABLE,
    }
)
DOCUMENT_VERDICTS = frozenset(set(Verdict) - STATEMENT_VERDICTS)

VERDICTS_BY_SUBJECT: dict[SubjectType, frozenset[Verdict]] = {
    SubjectType.STATEMENT: STATEMENT_VERDICTS,
    SubjectType.DOCUMENT: DOCUMENT_VERDICTS,
}

# The same labels stand in SQL (verdict_label()); badges and cards show them.
VERDICT_LABELS: dict[Verdict, str] = {
    Verdict.TRUE: "True",
    Verdict.MOSTLY_TRUE: "Mostly true",
    Verdict.MIXED: "Mixed",
    Verdict.MISLEADING: "Misleading",
    Verdict.MOSTLY_FALSE: "Mostly false",
    Verdict.FALSE: "False",
    Verdict.UNVERIFIABLE: "Unverifiable",
    Verdict.AUTHENTIC: "Authentic",
    Verdict.LIKELY_AUTHENTIC: "Likely authentic",
    Verdict.UNVERIFIED: "Unverified",
    Verdict.DISPUTED: "Disputed",
    Verdict.ALTERED: "Altered",
    Verdict.FABRICATED: "Fabricated",
}

# The table each subject type lives in (a relation's ends, an assessment's subject).
SUBJECT_REFERENTS: dict[SubjectType, Referent] = {
    SubjectType.STATEMENT: STATEMENTS,
    SubjectType.DOCUMENT: DOCUMENTS,
}
