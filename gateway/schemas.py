"""JSON Schemas (OpenAPI 3.1) for proto messages, as the gateway's proto3 JSON writes them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from gateway.jsonpb import WRAPPERS

REF = "#/components/schemas/"
_INT32 = {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
_UINT32 = {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**32 - 1}
_INT64 = {"type": "string", "format": "int64", "pattern": "^-?[0-9]{1,19}$"}
_UINT64 = {"type": "string", "format": "uint64", "pattern": "^[0-9]{1,20}$"}
_FLOAT = {
    "anyOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]
}
_SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_INT32: _INT32,
    FieldDescriptor.TYPE_SINT32: _INT32,
    FieldDescriptor.TYPE_SFIXED32: _INT32,
    FieldDescriptor.TYPE_UINT32: _UINT32,
    FieldDescriptor.TYPE_FIXED32: _UINT32,
    FieldDescriptor.TYPE_INT64: _INT64,
    FieldDescriptor.TYPE_SINT64: _INT64,
    FieldDescriptor.TYPE_SFIXED64: _INT64,
    FieldDescriptor.TYPE_UINT64: _UINT64,
    FieldDescriptor.TYPE_FIXED64: _UINT64,
    FieldDescriptor.TYPE_DOUBLE: _FLOAT,
    FieldDescriptor.TYPE_FLOAT: _FLOAT,
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {
        "type": "string",
        "format": "byte",
        "contentEncoding": "base64",
    },
}
WELL_KNOWN_SCHEMAS: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {
        "type": "string",
        "format": "date-time",
        "description": "An RFC 3339 time in UTC, e.g. 2024-01-31T12:00:00Z.",
    },
    "google.protobuf.Duration": {
        "type": "string",
        "pattern": "^-?[0-9]{1,12}(\\.[0-9]{1,9})?s$",
        "description": "Seconds with up to nine decimals and an 's', e.g. 1.5s.",
    },
    "google.protobuf.FieldMask": {
        "type": "string",
        "description": "Comma-separated lowerCamelCase field paths, e.g. title,author.displayName.",
    },
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {"description": "Any JSON value."},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object", "properties": {}, "additionalProperties": False},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": True,
    },
}


def scalar_schema(field: FieldDescriptor) -> dict[str, Any]:
    """Return the schema of one value of a non-message field."""
    if field.type == FieldDescriptor.TYPE_ENUM:
        return enum_schema(cast(EnumDescriptor, field.enum_type))
    return dict(_SCALARS[field.type])


def enum_schema(enum: EnumDescriptor) -> dict[str, Any]:
    """Return a string enum of the value names (null for google.protobuf.NullValue)."""
    if enum.full_name == "google.protobuf.NullValue":
        return {"type": "null"}
    return {"type": "string", "enum": [value.name for value in enum.values]}


class Schemas:
    """Build component schemas on demand and refer to them by full message name."""

    def __init__(self, comments: dict[str, str]) -> None:
        self.comments = comments
        self.components: dict[str, dict[str, Any]] = {}

    def describe(self, schema: dict[str, Any], name: str) -> dict[str, Any]:
        """Add the element's comment as the description, when there is one."""
        if name in self.comments and "description" not in schema:
            schema["description"] = self.comments[name]
        return schema

    def message_ref(self, descriptor: Descriptor) -> dict[str, Any]:
        """Return a $ref to the message's component schema, building it once."""
        name = descriptor.full_name
        if name in WRAPPERS:
            inner = scalar_schema(descriptor.fields_by_name["value"])
            return {"anyOf": [inner, {"type": "null"}]}
        if name not in self.components:
            self.components[name] = {}  # placeholder: recursive messages refer to it
            if name in WELL_KNOWN_SCHEMAS:
                self.components[name] = dict(WELL_KNOWN_SCHEMAS[name])
            else:
                self.components[name] = self.object_schema(descriptor)
        return {"$ref": REF + name}

    def object_schema(
        self, descriptor: Descriptor, leave_out: Iterable[str] = ()
    ) -> dict[str, Any]:
        """Return the object schema of a message, without the named top-level fields."""
        skipped = set(leave_out)
        properties = {
            field.json_name: self.field_schema(field)
            for field in descriptor.fields
            if field.name not in skipped
        }
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        exclusive = []
        for oneof in descriptor.oneofs:
            members = [f.json_name for f in oneof.fields if f.name not in skipped]
            if len(oneof.fields) > 1 and len(members) > 1:
                exclusive += [
                    {"required": [a, b]} for i, a in enumerate(members) for b in members[i + 1 :]
                ]
        if exclusive:
            # At most one member of each oneof may be set.
            schema["not"] = {"anyOf": exclusive}
        return self.describe(schema, descriptor.full_name)

    def value_schema(self, field: FieldDescriptor) -> dict[str, Any]:
        """Return the schema of one value of a field (a list element, a map value)."""
        if field.message_type is not None:
            return self.message_ref(field.message_type)
        return scalar_schema(field)

    def field_schema(self, field: FieldDescriptor) -> dict[str, Any]:
        """Return the schema of a field as it appears in a JSON object."""
        target = field.message_type
        schema: dict[str, Any]
        if target is not None and target.GetOptions().map_entry:
            key = target.fields_by_name["key"]
            schema = {
                "type": "object",
                "additionalProperties": self.value_schema(target.fields_by_name["value"]),
            }
            if key.type == FieldDescriptor.TYPE_BOOL:
                schema["propertyNames"] = {"enum": ["true", "false"]}
            elif key.type != FieldDescriptor.TYPE_STRING:
                schema["propertyNames"] = {"pattern": "^-?[0-9]+$"}
        elif field.is_repeated:
            schema = {"type": "array", "items": self.value_schema(field)}
        else:
            schema = self.value_schema(field)
            if "$ref" in schema:
                schema = dict(schema)
                if field.containing_oneof is None:
                    # Unset, it is written as null (protojson's EmitUnpopulated).
                    schema = {"anyOf": [schema, {"type": "null"}]}
        return self.describe(schema, field.full_name)
