"""The lines of the export: each resource's own Struct, with `type` put first.

Every line is encoded from the Struct that `GET /v1/{collection}/{id}` answers with, so
a line and that representation agree byte for byte in every field they share (RFC 3339
timestamps in UTC ending in `Z`, the same number formats, the same field order).
"""

from __future__ import annotations

from typing import Any

import msgspec

from service.domain.assessments.schemas import Assessment
from service.domain.documents.schemas import Document
from service.domain.organizations.schemas import Organization
from service.domain.people.schemas import Person
from service.domain.relations.schemas import Relation
from service.domain.statements.schemas import Statement


class OrganizationLine(Organization, tag_field="type", tag="organization", kw_only=True):
    pass


class PersonLine(Person, tag_field="type", tag="person", kw_only=True):
    pass


class DocumentLine(Document, tag_field="type", tag="document", kw_only=True):
    pass


class StatementLine(Statement, tag_field="type", tag="statement", kw_only=True):
    pass


class AssessmentLine(Assessment, tag_field="type", tag="assessment", kw_only=True):
    pass


def _relation_line() -> type[msgspec.Struct]:
    """A relation's own `type` (denies, confirms, ...) would collide with the line's
    `type`: in the export it is `relation_type`, every other field as `Relation` has it
    (derived from `Relation`, so the two cannot drift apart)."""
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for field in msgspec.structs.fields(Relation):
        name = "relation_type" if field.name == "type" else field.name
        if field.required:
            fields.append((name, field.type))
        elif field.default is not msgspec.NODEFAULT:
            fields.append((name, field.type, field.default))
        else:
            fields.append((name, field.type, msgspec.field(default_factory=field.default_factory)))
    return msgspec.defstruct(
        "RelationLine",
        fields,
        kw_only=True,
        tag_field="type",
        tag="relation",
        module=__name__,
    )


RelationLine = _relation_line()


def relation_line(relation: Relation) -> msgspec.Struct:
    """The export line of a relation: its own `type` as `relation_type`."""
    values = msgspec.structs.asdict(relation)
    values["relation_type"] = values.pop("type")
    return RelationLine(**values)
