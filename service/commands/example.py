"""The founding example: a leaked U.S. Department of Defense letter about leaving Iraq
(January 2020), the denials that followed, the outlets that confirmed it, and the
newsroom's verdicts (some superseding earlier ones), as told in ../shared/seed/.

Loading is idempotent: every record has a fixed id derived from a stable key, and a
record that already exists (even if an editor deleted it since) is left alone.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from service.domain.appearances import Appearance
from service.domain.assessments.schemas import (
    AssessmentCreate,
    Evidence,
    EvidenceKind,
    EvidenceStance,
)
from service.domain.assessments.service import assessment_service
from service.domain.crud import ResourceService
from service.domain.documents.schemas import DocumentCreate, DocumentKind
from service.domain.documents.service import document_service
from service.domain.organizations.schemas import OrganizationCreate, OrganizationKind
from service.domain.organizations.service import organization_service
from service.domain.people.schemas import Affiliation, PersonCreate
from service.domain.people.service import person_service
from service.domain.relations.schemas import RelationCreate, RelationType
from service.domain.relations.service import relation_service
from service.domain.statements.schemas import Medium, StatementCreate
from service.domain.statements.service import statement_service
from service.domain.subjects import SubjectRef, SubjectType, Verdict
from service.kit.db import Connection
from service.web.http import OptionalIfMatch

ACTOR = "load-example"
_NAMESPACE = uuid.UUID("6f1c4b8e-2f7a-4c55-9d0e-3a1b5e7c9d21")


def example_id(key: str) -> uuid.UUID:
    """The fixed id of an example record, e.g. example_id("document:letter")."""
    return uuid.uuid5(_NAMESPACE, key)


def _org(key: str) -> uuid.UUID:
    return example_id(f"organization:{key}")


def _person(key: str) -> uuid.UUID:
    return example_id(f"person:{key}")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


ORGANIZATIONS: dict[str, OrganizationCreate] = {
    "dod": OrganizationCreate(
        name="U.S. Department of Defense",
        kind=OrganizationKind.GOVERNMENT,
        url="https://www.defense.gov",
        same_as=["https://www.wikidata.org/wiki/Q11209"],
    ),
    "white_house": OrganizationCreate(
        name="The White House", kind=OrganizationKind.GOVERNMENT, url="https://www.whitehouse.gov"
    ),
    "iraqi_military": OrganizationCreate(
        name="Iraqi military (Joint Operations Command)", kind=OrganizationKind.MILITARY
    ),
    "iraqi_parliament": OrganizationCreate(
        name="Council of Representatives of Iraq", kind=OrganizationKind.GOVERNMENT
    ),
    "rolling_stone": OrganizationCreate(
        name="Rolling Stone", kind=OrganizationKind.NEWS_OUTLET, url="https://www.rollingstone.com"
    ),
    "reuters": OrganizationCreate(
        name="Reuters", kind=OrganizationKind.NEWS_OUTLET, url="https://www.reuters.com"
    ),
    "afp": OrganizationCreate(
        name="Agence France-Presse", kind=OrganizationKind.NEWS_OUTLET, url="https://www.afp.com"
    ),
    "washington_post": OrganizationCreate(
        name="The Washington Post",
        kind=OrganizationKind.NEWS_OUTLET,
        url="https://www.washingtonpost.com",
    ),
    "cnn": OrganizationCreate(
        name="CNN", kind=OrganizationKind.NEWS_OUTLET, url="https://www.cnn.com"
    ),
    "mcclatchy": OrganizationCreate(
        name="McClatchy", kind=OrganizationKind.NEWS_OUTLET, url="https://www.mcclatchydc.com"
    ),
    "twitter": OrganizationCreate(
        name="Twitter", kind=OrganizationKind.COMPANY, url="https://twitter.com"
    ),
}

PEOPLE: dict[str, PersonCreate] = {
    "trump": PersonCreate(
        name="Donald Trump",
        aliases=["Donald J. Trump", "President Trump"],
        description="45th President of the United States.",
        affiliations=[
            Affiliation(
                organization_id=_org("white_house"),
                title="President of the United States",
                start_on=date(2017, 1, 20),
                end_on=date(2021, 1, 20),
            )
        ],
    ),
    "esper": PersonCreate(
        name="Mark Esper",
        aliases=["Mark T. Esper", "@EsperDoD", "Defense Secretary Mark Esper"],
        description="U.S. Secretary of Defense.",
        affiliations=[
            Affiliation(
                organization_id=_org("dod"),
                title="Secretary of Defense",
                start_on=date(2019, 7, 23),
                end_on=date(2020, 11, 9),
            )
        ],
    ),
    "milley": PersonCreate(
        name="Mark Milley",
        aliases=["Gen. Mark Milley", "GEN Milley", "Mark A. Milley"],
        description="Chairman of the Joint Chiefs of Staff.",
        affiliations=[
            Affiliation(
                organization_id=_org("dod"),
                title="Chairman of the Joint Chiefs of Staff",
                start_on=date(2019, 9, 30),
            )
        ],
    ),
    "seely": PersonCreate(
        name="William H. Seely III",
        aliases=["Brig. Gen. William H. Seely III"],
        description="U.S. Marine Corps brigadier general; signatory of the letter.",
        affiliations=[
            Affiliation(organization_id=_org("dod"), title="Commanding General, Task Force Iraq")
        ],
    ),
    "copp": PersonCreate(
        name="Tara Copp",
        aliases=["@TaraCopp"],
        description="Pentagon reporter.",
        affiliations=[Affiliation(organization_id=_org("mcclatchy"), title="Reporter")],
    ),
    "tapper": PersonCreate(
        name="Jake Tapper",
        aliases=["@jaketapper"],
        description="CNN anchor.",
        affiliations=[Affiliation(organization_id=_org("cnn"), title="Anchor")],
    ),
    "sly": PersonCreate(
        name="Liz Sly",
        aliases=["@LizSly"],
        description="Reporter covering the Middle East.",
        affiliations=[Affiliation(organization_id=_org("washington_post"), title="Bureau chief")],
    ),
}

DOCUMENTS: dict[str, DocumentCreate] = {
    "letter": DocumentCreate(
        title='Letter to the Iraqi military on U.S. forces\' "onward movement" out of Iraq',
        kind=DocumentKind.LETTER,
        issuer_id=_org("dod"),
        author_id=_person("seely"),
        recipient="Iraqi military (Joint Operations Command)",
        dated_on=date(2020, 1, 6),
        surfaced_via=(
            "Leaked by an Iran-backed TV channel in Iraq, the day after the Iraqi parliament "
            "voted to expel all U.S. troops"
        ),
        summary=(
            'The letter told the Iraqi military that U.S. forces would "prepare for onward '
            'movement" out of Iraq, out of respect for Iraq\'s "sovereign decision to order our '
            'departure." Officials later called it an unsigned draft released by mistake; it had '
            "already been delivered to the Iraqi military."
        ),
        body_text=(
            "... U.S. forces in Iraq will prepare for onward movement ... We respect your "
            "sovereign decision to order our departure."
        ),
        appearances=[
            Appearance(
                url="https://www.rollingstone.com",
                publisher_id=_org("rolling_stone"),
                published_at=_at("2020-01-07T15:00:00+00:00"),
            )
        ],
        tags=["iraq", "us-military", "withdrawal", "leak"],
    ),
}

STATEMENTS: dict[str, StatementCreate] = {
    "trump_air_base": StatementCreate(
        speaker_id=_person("trump"),
        text=(
            "...extraordinarily expensive air base that's there... very big sanctions... "
            "do anything we think is inappropriate."
        ),
        said_at=_at("2020-01-05T23:00:00+00:00"),
        medium=Medium.PRESS_BRIEFING,
        context=(
            "On Sunday, January 5, 2020, the President said the U.S. would not leave Iraq "
            "unless it paid for the air base, and threatened sanctions; quoted in fragments."
        ),
        appearances=[
            Appearance(url="https://www.rollingstone.com", publisher_id=_org("rolling_stone"))
        ],
        tags=["iraq", "withdrawal"],
    ),
    "esper_no_decision": StatementCreate(
        speaker_id=_person("esper"),
        text="There's been no decision whatsoever to leave Iraq.",
        said_at=_at("2020-01-06T21:00:00+00:00"),
        medium=Medium.PRESS_BRIEFING,
        context="Asked about the leaked letter, Esper said the memo on withdrawal is not accurate.",
        appearances=[
            Appearance(
                url="https://pic.twitter.com/52DDhSIIQ2",
                publisher_id=_org("twitter"),
                published_at=_at("2020-01-06T21:30:00+00:00"),
            )
        ],
        tags=["iraq", "withdrawal", "denial"],
    ),
    "milley_draft": StatementCreate(
        speaker_id=_person("milley"),
        text=(
            "That letter is a draft it was a mistake, it was unsigned, it should not have been "
            "released…poorly worded, implies withdrawal, that is not what's happening"
        ),
        said_at=_at("2020-01-06T22:00:00+00:00"),
        medium=Medium.PRESS_BRIEFING,
        context=(
            "Milley reportedly came back into the room after briefing the press to say the "
            "letter was a draft released by mistake."
        ),
        appearances=[
            Appearance(
                url="https://pic.twitter.com/is0AsU1Ksx",
                publisher_id=_org("twitter"),
                published_at=_at("2020-01-06T22:30:00+00:00"),
            )
        ],
        tags=["iraq", "withdrawal", "denial"],
    ),
    "sly_delivered": StatementCreate(
        speaker_id=_person("sly"),
        text=(
            "General Milley has just said the letter regarding troop movements out of Iraq was a "
            "draft, and releasing it was a \u201cmistake.\u201d It was however delivered to the "
            "Iraqi military. It seems the U.S. military is as confused as everyone else about "
            "what their intentions are."
        ),
        said_at=_at("2020-01-06T23:00:00+00:00"),
        medium=Medium.SOCIAL_MEDIA,
        context="The report that the letter had already been delivered to the Iraqi military.",
        appearances=[Appearance(url="https://twitter.com/LizSly", publisher_id=_org("twitter"))],
        tags=["iraq", "withdrawal"],
    ),
}


def _statement(key: str) -> SubjectRef:
    return SubjectRef(type=SubjectType.STATEMENT, id=example_id(f"statement:{key}"))


def _document(key: str) -> SubjectRef:
    return SubjectRef(type=SubjectType.DOCUMENT, id=example_id(f"document:{key}"))


RELATIONS: dict[str, RelationCreate] = {
    "esper_denies_letter": RelationCreate(
        source=_statement("esper_no_decision"),
        type=RelationType.DENIES,
        target=_document("letter"),
        note="Esper: the memo on withdrawal is not accurate.",
    ),
    "milley_denies_letter": RelationCreate(
        source=_statement("milley_draft"),
        type=RelationType.DENIES,
        target=_document("letter"),
        note="Milley: an unsigned draft, released by mistake.",
    ),
    "trump_contradicts_letter": RelationCreate(
        source=_statement("trump_air_base"),
        type=RelationType.CONTRADICTS,
        target=_document("letter"),
        note="The President set conditions for leaving; the letter announced departure.",
    ),
    "sly_supports_letter": RelationCreate(
        source=_statement("sly_delivered"),
        type=RelationType.SUPPORTS,
        target=_document("letter"),
        note="The letter had already been delivered to the Iraqi military.",
    ),
    "sly_contradicts_milley": RelationCreate(
        source=_statement("sly_delivered"),
        type=RelationType.CONTRADICTS,
        target=_statement("milley_draft"),
    ),
}


def _confirmed_by(outlet: str, url: str) -> Evidence:
    return Evidence(
        kind=EvidenceKind.CONFIRMATION,
        organization_id=_org(outlet),
        url=url,
        stance=EvidenceStance.SUPPORTS,
    )


# In order: an assessment named in `supersedes_id` is created and published before the
# one that supersedes it. `publish` False leaves a draft, which no reader outside the
# newsroom sees and which never counts toward a verification.
ASSESSMENTS: list[tuple[str, AssessmentCreate, bool]] = [
    (
        "letter_first_look",
        AssessmentCreate(
            subject=_document("letter"),
            verdict=Verdict.LIKELY_AUTHENTIC,
            headline="The leaked letter appears genuine; officials dispute it",
            explanation="Format and signature block match U.S. military correspondence.",
            author_organization_id=_org("rolling_stone"),
        ),
        True,
    ),
    (
        "letter_confirmed",
        AssessmentCreate(
            subject=_document("letter"),
            verdict=Verdict.AUTHENTIC,
            headline="The letter is authentic, and it was delivered to the Iraqi military",
            explanation=(
                "Several outlets confirmed the letter; the Pentagon called it a draft sent by "
                "mistake, which confirms it was real."
            ),
            author_organization_id=_org("rolling_stone"),
            evidence=[
                _confirmed_by("reuters", "https://www.reuters.com"),
                _confirmed_by("afp", "https://www.afp.com"),
                _confirmed_by("washington_post", "https://www.washingtonpost.com"),
                Evidence(
                    kind=EvidenceKind.STATEMENT,
                    statement_id=example_id("statement:sly_delivered"),
                    stance=EvidenceStance.SUPPORTS,
                    note="Reported that the letter had been delivered.",
                ),
                Evidence(
                    kind=EvidenceKind.STATEMENT,
                    statement_id=example_id("statement:milley_draft"),
                    stance=EvidenceStance.SUPPORTS,
                    note="Calling it a draft released by mistake concedes it exists.",
                ),
            ],
            supersedes_id=example_id("assessment:letter_first_look"),
        ),
        True,
    ),
    (
        "esper_misleading",
        AssessmentCreate(
            subject=_statement("esper_no_decision"),
            verdict=Verdict.MISLEADING,
            headline="No decision to leave, but the letter announcing it was real",
            explanation="The Defense Department had sent the letter it called inaccurate.",
            author_organization_id=_org("rolling_stone"),
            evidence=[
                Evidence(
                    kind=EvidenceKind.DOCUMENT,
                    document_id=example_id("document:letter"),
                    stance=EvidenceStance.REFUTES,
                )
            ],
        ),
        True,
    ),
    (
        "milley_unverifiable",
        AssessmentCreate(
            subject=_statement("milley_draft"),
            verdict=Verdict.UNVERIFIABLE,
            headline="Whether the letter was a mere draft could not yet be checked",
            author_organization_id=_org("rolling_stone"),
        ),
        True,
    ),
    (
        "milley_mostly_false",
        AssessmentCreate(
            subject=_statement("milley_draft"),
            verdict=Verdict.MOSTLY_FALSE,
            headline="The 'draft' had already been delivered to the Iraqi military",
            explanation="Reporters established that the letter reached the Iraqi military.",
            author_organization_id=_org("rolling_stone"),
            evidence=[
                Evidence(
                    kind=EvidenceKind.STATEMENT,
                    statement_id=example_id("statement:sly_delivered"),
                    stance=EvidenceStance.REFUTES,
                )
            ],
            supersedes_id=example_id("assessment:milley_unverifiable"),
        ),
        True,
    ),
    (
        "trump_draft",
        AssessmentCreate(
            subject=_statement("trump_air_base"),
            verdict=Verdict.MIXED,
            headline="Draft: the President's conditions for leaving Iraq",
            author_organization_id=_org("rolling_stone"),
        ),
        False,
    ),
]


async def load(conn: Connection) -> int:
    """Create every example record that does not exist yet; return how many were created."""
    created = 0
    steps: list[tuple[ResourceService[Any, Any, Any], str, dict[str, Any]]] = [
        (organization_service, "organization", ORGANIZATIONS),
        (person_service, "person", PEOPLE),
        (document_service, "document", DOCUMENTS),
        (statement_service, "statement", STATEMENTS),
        (relation_service, "relation", RELATIONS),
    ]
    for service, kind, records in steps:
        for key, data in records.items():
            record_id = example_id(f"{kind}:{key}")
            if await service.table.ever_existed(conn, record_id):
                continue
            await service.create(conn, data, ACTOR, id=record_id)
            created += 1
    for key, assessment, publish in ASSESSMENTS:
        record_id = example_id(f"assessment:{key}")
        if await assessment_service.table.ever_existed(conn, record_id):
            continue
        await assessment_service.create(conn, assessment, ACTOR, id=record_id)
        if publish:
            await assessment_service.publish(conn, record_id, OptionalIfMatch(None), ACTOR)
        created += 1
    return created


async def load_into(database_url: str) -> int:
    """Load the example in one transaction (the `load-example` command)."""
    conn = await asyncpg.connect(database_url, server_settings={"timezone": "UTC"})
    try:
        async with conn.transaction():
            # Serialise concurrent loaders so "exists? then create" cannot race.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('load-example'))")
            return await load(conn)
    finally:
        await conn.close()
