from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from service.domain.subjects import SubjectRef, Verdict
from service.kit.fields import NON_BLANK, HttpUrl, LongText, ShortText


class AssessmentState(StrEnum):
    """draft -> published -> superseded | retracted; only drafts can be edited."""

    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"
    RETRACTED = "retracted"


class EvidenceKind(StrEnum):
    URL = "url"
    STATEMENT = "statement"
    DOCUMENT = "document"
    CONFIRMATION = "confirmation"


class EvidenceStance(StrEnum):
    SUPPORTS = "supports"
    REFUTES = "refutes"
    CONTEXT = "context"


EvidenceUrl = Annotated[
    HttpUrl,
    msgspec.Meta(
        description="Where the evidence can be seen (for a confirmation, the outlet's report).",
        examples=["https://www.reuters.com/world/middle-east/the-letter-is-genuine"],
    ),
]

# The field each kind of evidence cannot do without.
_FIELD_OF_KIND = {
    EvidenceKind.URL: "url",
    EvidenceKind.STATEMENT: "statement_id",
    EvidenceKind.DOCUMENT: "document_id",
    EvidenceKind.CONFIRMATION: "organization_id",
}


class Evidence(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One piece of evidence behind a verdict.

    Each kind needs its own field: `url` a `url`, `statement` a `statement_id`,
    `document` a `document_id`, `confirmation` the `organization_id` of the outlet
    that confirmed (counted in the subject's `corroborations` when it `supports`).
    The other fields are optional on any kind (a confirmation may link its article).
    """

    kind: EvidenceKind
    url: EvidenceUrl | None = None
    statement_id: UUID | None = None
    document_id: UUID | None = None
    organization_id: UUID | None = None
    stance: EvidenceStance = EvidenceStance.SUPPORTS
    note: ShortText | None = None

    # The rule below, stated in the OpenAPI schema too (service/kit/struct_schemas.py).
    required_when: ClassVar[Mapping[str, Mapping[EvidenceKind, str]]] = {"kind": _FIELD_OF_KIND}

    def __post_init__(self) -> None:
        field = _FIELD_OF_KIND[self.kind]
        if getattr(self, field) is None:
            # Worded "required field `x`" so that the shared error parser (http.py) names
            # the exact field, e.g. `evidence[0].organization_id`, not just the item.
            raise ValueError(f"evidence of kind `{self.kind}` lacks its required field `{field}`")


EvidenceList = Annotated[list[Evidence], msgspec.Meta(max_length=100)]

Headline = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=120,
        pattern=NON_BLANK,
        description="Non-blank, at most 120 characters.",
        examples=["The leaked letter is authentic"],
    ),
]

VerdictField = Annotated[
    Verdict,
    msgspec.Meta(
        description=(
            "Must fit the subject's type (422 otherwise): a statement takes `true`, "
            "`mostly_true`, `mixed`, `misleading`, `mostly_false`, `false` or "
            "`unverifiable`; a document takes `authentic`, `likely_authentic`, "
            "`unverified`, `disputed`, `altered` or `fabricated`."
        )
    ),
]

ArticleUrl = Annotated[
    HttpUrl,
    msgspec.Meta(
        description="The published fact-check article.",
        examples=["https://news.example/fact-check/the-leaked-letter"],
    ),
]

SupersedesId = Annotated[
    UUID,
    msgspec.Meta(
        description=(
            "The earlier assessment of the same subject that this one replaces. When this "
            "one is published and that one is `published`, that one becomes `superseded`. "
            "Settable while this assessment is a draft."
        )
    ),
]


class AssessmentCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new assessment; it starts as a `draft`. The subject is fixed for good."""

    subject: SubjectRef
    verdict: VerdictField
    headline: Headline
    explanation: LongText | None = None
    url: ArticleUrl | None = None
    author_organization_id: UUID | None = None
    evidence: EvidenceList = msgspec.field(default_factory=list)
    supersedes_id: SupersedesId | None = None


class AssessmentPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A change to a draft (409 for any other state). The subject cannot change."""

    verdict: VerdictField | UnsetType = UNSET
    headline: Headline | UnsetType = UNSET
    explanation: LongText | UnsetType | None = UNSET
    url: ArticleUrl | UnsetType | None = UNSET
    author_organization_id: UUID | UnsetType | None = UNSET
    evidence: EvidenceList | UnsetType = UNSET
    supersedes_id: SupersedesId | UnsetType | None = UNSET


class Assessment(msgspec.Struct, kw_only=True):
    """An assessment as served; `state`, `published_at`, `retracted_at` and
    `retraction_reason` change only through the publish and retract actions."""

    id: UUID
    subject: SubjectRef
    verdict: Verdict
    headline: str
    explanation: str | None
    url: str | None
    author_organization_id: UUID | None
    evidence: list[Evidence]
    state: AssessmentState
    published_at: datetime | None
    retracted_at: datetime | None
    retraction_reason: str | None
    supersedes_id: UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


class AssessmentPage(msgspec.Struct, kw_only=True):
    items: list[Assessment]
    next_cursor: str | None


class RetractRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Why a published assessment is withdrawn; shown with it from then on."""

    reason: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=2000,
            pattern=NON_BLANK,
            description="Non-blank, at most 2000 characters.",
            examples=["The letter's signature block was misread; see the correction."],
        ),
    ]
