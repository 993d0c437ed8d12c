"""SQL for organizations."""

from __future__ import annotations

from uuid import UUID

from service.domain.crud import Table
from service.domain.organizations.schemas import Organization, OrganizationCreate
from service.domain.subjects import ORGANIZATIONS
from service.kit.db import Connection

ORGANIZATION_JSON = """json_build_object(
    'id', o.id, 'name', o.name, 'kind', o.kind, 'url', o.url, 'same_as', o.same_as,
    'version', o.version, 'created_at', o.created_at, 'updated_at', o.updated_at)"""

organizations = Table(
    referent=ORGANIZATIONS,
    alias="o",
    json=ORGANIZATION_JSON,
    struct=Organization,
)

INSERT_ORGANIZATION = """
INSERT INTO organizations (id, name, kind, url, same_as)
VALUES (coalesce($1, gen_random_uuid()), $2, $3, $4, $5)
RETURNING id
"""

# Typo-tolerant name match: the trigram word-similarity operator served by the
# gin_trgm_ops index, at the threshold the function fixes (migration 0009: it holds
# whatever the session, PgBouncer or not), plus a plain substring match.
NAME_MATCHES = "o.id IN (SELECT organizations_matching({0}, {1}))"

# How well the name matches (migration 0011's tiers), then a score: how much of the
# query the name holds (word similarity, the measure of the match) plus how much of the
# name the query is (similarity), so that "Washington Post" comes before "The
# Washington Post Company". In millionths: an integer is exact in a cursor.
NAME_RANK = """CROSS JOIN LATERAL (SELECT
    name_tier(name_words({0}::text), {1}::text[], ARRAY[o.name]) AS tier,
    round((word_similarity({0}::text, o.name) + similarity({0}::text, o.name)) * 500000)::int
        AS score) AS rank"""


async def insert(conn: Connection, data: OrganizationCreate, id: UUID | None) -> UUID:
    new_id: UUID = await conn.fetchval(
        INSERT_ORGANIZATION, id, data.name, data.kind, data.url, data.same_as
    )
    return new_id
