"""SQL for the export: one query per resource type, each row one resource's public
representation as JSON, exactly as `GET /v1/{collection}/{id}` reads it for the public
(the same `Table.public_json` and `Table.public_condition`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from service.domain.assessments.repository import assessments
from service.domain.crud import Table
from service.domain.documents.repository import documents
from service.domain.organizations.repository import organizations
from service.domain.people.repository import people
from service.domain.relations.repository import relations
from service.domain.statements.repository import statements
from service.views.export.schemas import (
    AssessmentLine,
    DocumentLine,
    OrganizationLine,
    PersonLine,
    StatementLine,
    relation_line,
)


@dataclass(frozen=True, slots=True)
class Section:
    """One type's part of the export: its query, and how a row becomes the Struct
    that encodes its line."""

    query: str
    decoder: msgspec.json.Decoder[Any]
    to_line: Callable[[Any], msgspec.Struct] | None = field(default=None)

    def line(self, row: str) -> msgspec.Struct:
        decoded: msgspec.Struct = self.decoder.decode(row)
        return decoded if self.to_line is None else self.to_line(decoded)


def _section(
    table: Table[Any],
    decode_as: type[msgspec.Struct],
    to_line: Callable[[Any], msgspec.Struct] | None = None,
) -> Section:
    """The live, published rows of `table`, oldest first, as the public reads them."""
    alias = table.alias
    query = f"""
SELECT {table.public_json}
FROM {table.from_sql}
WHERE {alias}.deleted_at IS NULL AND {table.public_condition}
ORDER BY {alias}.created_at, {alias}.id"""
    return Section(query=query, decoder=msgspec.json.Decoder(decode_as), to_line=to_line)


# Types in the order they refer to each other (organizations before the people,
# documents and statements that name them; relations and assessments last), so that a
# partner can mostly load the stream front to back.
EXPORT_SECTIONS = (
    _section(organizations, OrganizationLine),
    _section(people, PersonLine),
    _section(documents, DocumentLine),
    _section(statements, StatementLine),
    _section(relations, relations.struct, relation_line),
    _section(assessments, AssessmentLine),
)
