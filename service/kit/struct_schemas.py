"""The OpenAPI schema of a msgspec Struct, as msgspec enforces it.

Litestar's own plugin documents the constraints of a Struct's fields, but not the ones
nested in them (`list[Tag]` loses each tag's pattern and lengths), and never says that a
Struct with `forbid_unknown_fields` refuses other fields (422). This one adds both, and
the fields that another field's value makes required (`required_when`), so that
clients, validators and fuzzers read what a request may really hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.typing import FieldDefinition

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

_ARRAYS = (
    msgspec.inspect.ListType,
    msgspec.inspect.SetType,
    msgspec.inspect.FrozenSetType,
    msgspec.inspect.VarTupleType,
)


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """Takes precedence over Litestar's StructSchemaPlugin (app plugins come first)."""

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if not isinstance(info, msgspec.inspect.StructType):  # pragma: no cover
            return schema
        if info.forbid_unknown_fields:
            schema.additional_properties = False
        # `required_when = {"kind": {"url": "url"}}`: a field that the value of another
        # makes required (and not null), checked in the Struct's __post_init__.
        rules: Mapping[str, Mapping[str, str]] = getattr(
            field_definition.type_, "required_when", {}
        )
        if rules:
            schema.all_of = [
                _required_when(field, value, required)
                for field, cases in rules.items()
                for value, required in cases.items()
            ]
        for field in info.fields:
            prop = (schema.properties or {}).get(field.encode_name)
            if isinstance(prop, Schema):
                _constrain_items(prop, field.type)
        # `openapi_companions = (WebhookPayload,)`: Structs that no route takes or returns
        # but that the document refers to by name (its `webhooks`), made components too.
        for companion in getattr(field_definition.type_, "openapi_companions", ()):
            schema_creator.for_field_definition(FieldDefinition.from_annotation(companion))
        return schema


def _required_when(field: str, value: str, required: str) -> Schema:
    return Schema(
        schema_if=Schema(properties={field: Schema(const=value)}, required=[field]),
        then=Schema(
            properties={required: Schema(schema_not=Schema(type=OpenAPIType.NULL))},
            required=[required],
        ),
    )


def _constrain_items(schema: Schema, type_: msgspec.inspect.Type) -> None:
    """Carry the constraints of an array's items (and of their items) into `schema`."""
    if isinstance(type_, msgspec.inspect.Metadata):
        type_ = type_.type
    if isinstance(type_, msgspec.inspect.UnionType):
        for member in type_.types:
            _constrain_items(schema, member)
        return
    if schema.one_of:
        for alternative in schema.one_of:
            if isinstance(alternative, Schema):
                _constrain_items(alternative, type_)
        return
    if not isinstance(type_, _ARRAYS) or schema.type != OpenAPIType.ARRAY:
        return
    items, item_type = schema.items, type_.item_type
    if not isinstance(items, Schema):
        return
    if isinstance(item_type, msgspec.inspect.Metadata):
        item_type = item_type.type
    if isinstance(item_type, msgspec.inspect.StrType) and items.type == OpenAPIType.STRING:
        if items.min_length is None:
            items.min_length = item_type.min_length
        if items.max_length is None:
            items.max_length = item_type.max_length
        if items.pattern is None:
            items.pattern = item_type.pattern
    else:
        _constrain_items(items, item_type)
