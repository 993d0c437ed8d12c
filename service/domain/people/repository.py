"""SQL for people and their affiliations."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from service.domain.crud import Table
from service.domain.people.schemas import Affiliation, Person, PersonCreate
from service.domain.subjects import PEOPLE
from service.kit.db import Connection

PERSON_JSON = """json_build_object(
    'id', p.id, 'name', p.name, 'aliases', p.aliases, 'description', p.description,
    'same_as', p.same_as,
    'affiliations', coalesce((
        SELECT json_agg(json_build_object(
            'organization_id', a.organization_id, 'title', a.title,
            'start_on', a.start_on, 'end_on', a.end_on) ORDER BY a.position)
        FROM affiliations a WHERE a.person_id = p.id), '[]'),
    'version', p.version, 'created_at', p.created_at, 'updated_at', p.updated_at)"""

people = Table(referent=PEOPLE, alias="p", json=PERSON_JSON, struct=Person)

INSERT_PERSON = """
INSERT INTO people (id, name, aliases, description, same_as)
VALUES (coalesce($1, gen_random_uuid()), $2, $3, $4, $5)
RETURNING id
"""

INSERT_AFFILIATIONS = """
INSERT INTO affiliations (person_id, position, organization_id, title, start_on, end_on)
SELECT $1, a.ord - 1, a.organization_id, a.title, a.start_on, a.end_on
FROM unnest($2::uuid[], $3::text[], $4::date[], $5::date[])
    WITH ORDINALITY AS a (organization_id, title, start_on, end_on, ord)
"""

DELETE_AFFILIATIONS = "DELETE FROM affiliations WHERE person_id = $1"

# Typo-tolerant match on the name and every alias (the generated `names` column): by
# trigram word similarity at the threshold the function fixes, or by substring
# (migration 0009: the threshold holds whatever the session, PgBouncer or not).
NAMES_MATCH = "p.id IN (SELECT people_matching({0}, {1}))"

# How well the name or an alias matches (migration 0011's tiers), then a score: how
# much of the query the names hold (word similarity, the measure of the match) plus how
# much of the closest name or alias the query is (similarity), so that "Washington
# Post" comes before "The Washington Post Company". In millionths: an integer is exact
# in a cursor.
NAMES_RANK = """CROSS JOIN LATERAL (SELECT
    name_tier(name_words({0}::text), {1}::text[], array_prepend(p.name, p.aliases)) AS tier,
    round((word_similarity({0}::text, p.names) + (
        SELECT max(similarity({0}::text, n)) FROM unnest(array_prepend(p.name, p.aliases)) AS n
    )) * 500000)::int AS score) AS rank"""


async def insert(conn: Connection, data: PersonCreate, id: UUID | None) -> UUID:
    new_id: UUID = await conn.fetchval(
        INSERT_PERSON, id, data.name, data.aliases, data.description, data.same_as
    )
    await insert_affiliations(conn, new_id, data.affiliations)
    return new_id


async def insert_affiliations(
    conn: Connection, person_id: UUID, affiliations: Sequence[Affiliation]
) -> None:
    if not affiliations:
        return
    await conn.execute(
        INSERT_AFFILIATIONS,
        person_id,
        [a.organization_id for a in affiliations],
        [a.title for a in affiliations],
        [a.start_on for a in affiliations],
        [a.end_on for a in affiliations],
    )


async def replace_affiliations(
    conn: Connection, person_id: UUID, affiliations: Sequence[Affiliation]
) -> None:
    await conn.execute(DELETE_AFFILIATIONS, person_id)
    await insert_affiliations(conn, person_id, affiliations)
