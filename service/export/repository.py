"""SQL for the export: one query per resource type, each row a finished NDJSON line.

The database builds every line (the public representation plus `type`, and the newline)
and hands it over as bytes, so Python only passes bytes through: nothing is decoded,
validated or re-encoded per row.
"""

from __future__ import annotations

from service.assessments.repository import ASSESSMENT_JSON
from service.documents.repository import PUBLIC_DOCUMENT_ITEM_JSON
from service.organizations.repository import ORGANIZATION_JSON
from service.people.repository import PERSON_JSON
from service.relations.repository import RELATION_JSON
from service.statements.repository import statement_json
from service.visibility import (
    PUBLISHED_ASSESSMENT,
    PUBLISHED_DOCUMENT,
    PUBLISHED_RELATION,
    PUBLISHED_STATEMENT,
)

_OBJECT = "json_build_object("


def _with_type(resource_json: str, type: str) -> str:
    """A resource's `json_build_object(...)` representation with `type` put first."""
    if not resource_json.lstrip().startswith(_OBJECT):
        raise ValueError(f"not a json_build_object representation: {resource_json[:40]!r}")
    return resource_json.replace(_OBJECT, f"{_OBJECT}'type', '{type}', ", 1)


# A relation's own `type` (denies, confirms, ...) would collide with the line's `type`:
# in the export it is `relation_type`, everything else as GET /v1/relations/{id} has it.
_RELATION_OWN_TYPE = "'type', r.type"
if RELATION_JSON.count(_RELATION_OWN_TYPE) != 1:
    raise ValueError("RELATION_JSON changed shape: update the export's relation line")
_RELATION_LINE = _with_type(
    RELATION_JSON.replace(_RELATION_OWN_TYPE, "'relation_type', r.type"), "relation"
)


def _lines(line_json: str, table: str, alias: str, published: str) -> str:
    """The export query of one table: its live, published rows, oldest first.

    SQL-built JSON has raw newlines only as whitespace between tokens (json_agg puts
    one between aggregated rows; inside strings a newline is escaped as `\\n`), so
    dropping them keeps each resource on one line, whatever a representation
    aggregates, without touching any value.
    """
    return f"""
SELECT convert_to(replace(({line_json})::text, E'\\n', '') || E'\\n', 'UTF8')
FROM {table} {alias}
WHERE {alias}.deleted_at IS NULL AND {published}
ORDER BY {alias}.created_at, {alias}.id"""


# Types in the order they refer to each other (organizations before the people,
# documents and statements that name them; relations and assessments last), so that a
# partner can mostly load the stream front to back.
EXPORT_QUERIES = (
    _lines(_with_type(ORGANIZATION_JSON, "organization"), "organizations", "o", "TRUE"),
    _lines(_with_type(PERSON_JSON, "person"), "people", "p", "TRUE"),
    _lines(PUBLIC_DOCUMENT_ITEM_JSON, "documents", "d", PUBLISHED_DOCUMENT),
    _lines(
        statement_json("'type', 'statement',", public=True), "statements", "s", PUBLISHED_STATEMENT
    ),
    _lines(_RELATION_LINE, "relations", "r", PUBLISHED_RELATION),
    _lines(_with_type(ASSESSMENT_JSON, "assessment"), "assessments", "a", PUBLISHED_ASSESSMENT),
)
