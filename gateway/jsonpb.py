"""Proto3 JSON into messages: bad values (and, when strict, unknown fields) name their field."""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

_NOT_WRAPPERS = ("google.protobuf.Value", "google.protobuf.ListValue")
# Well-known types whose JSON form is not an object of their fields: json_format parses them.
WELL_KNOWN = frozenset(
    {
        "google.protobuf.Any",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
        "google.protobuf.ListValue",
        "google.protobuf.Struct",
        "google.protobuf.Timestamp",
        "google.protobuf.Value",
        "google.protobuf.BoolValue",
        "google.protobuf.BytesValue",
        "google.protobuf.DoubleValue",
        "google.protobuf.FloatValue",
        "google.protobuf.Int32Value",
        "google.protobuf.Int64Value",
        "google.protobuf.StringValue",
        "google.protobuf.UInt32Value",
        "google.protobuf.UInt64Value",
    }
)

WRAPPERS = frozenset(
    name for name in WELL_KNOWN if name.endswith("Value") and name not in _NOT_WRAPPERS
)

_INT_RANGES: dict[int, tuple[int, int]] = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_ENUM: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
_FLOAT_MAX = 3.4028234663852886e38
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class FieldError(ValueError):
    """A JSON value does not fit its field; `field` is the proto path, e.g. `book.tags[2]`."""

    def __init__(self, field: str, description: str) -> None:
        super().__init__(f"{field}: {description}" if field else description)
        self.field = field
        self.description = description


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


_FIELD_MAPS: dict[str, dict[str, FieldDescriptor]] = {}


def field_map(descriptor: Any) -> dict[str, FieldDescriptor]:
    """Return the message's fields by proto name and by JSON name."""
    found = _FIELD_MAPS.get(descriptor.full_name)
    if found is None:
        found = {}
        for item in descriptor.fields:
            found[item.name] = item
            found[item.json_name] = item
        _FIELD_MAPS[descriptor.full_name] = found
    return found


def parse_message(value: Any, message: Message, path: str = "", *, strict: bool = True) -> None:
    """Merge a decoded JSON value into a message, or raise FieldError.

    Not strict, unknown fields are skipped, as protojson's DiscardUnknown does.
    """
    descriptor = message.DESCRIPTOR
    if descriptor.full_name in WELL_KNOWN:
        _parse_well_known(value, message, path, strict)
        return
    if not isinstance(value, dict):
        raise FieldError(path, f"expected a JSON object for {descriptor.full_name}")
    fields = field_map(descriptor)
    seen: dict[str, str] = {}
    for key, item in value.items():
        found = fields.get(key)
        if found is None:
            if not strict:
                continue
            raise FieldError(_join(path, key), f"unknown field {key!r} in {descriptor.full_name}")
        where = _join(path, found.name)
        if found.name in seen:
            raise FieldError(where, "the field is given twice")
        seen[found.name] = key
        oneof = found.containing_oneof
        if oneof is not None and item is not None:
            if oneof.name in seen:
                raise FieldError(where, f"more than one field of oneof {oneof.name!r} is set")
            seen[oneof.name] = key
        set_field(message, found, item, where, strict=strict)


def set_field(
    message: Message, found: FieldDescriptor, value: Any, path: str, *, strict: bool = True
) -> None:
    """Set one field of a message from its JSON value (null clears it)."""
    target = found.message_type
    if value is None and (target is None or target.full_name != "google.protobuf.Value"):
        message.ClearField(found.name)
        return
    if target is not None and target.GetOptions().map_entry:
        _set_map(message, found, value, path, strict)
    elif found.is_repeated:
        if not isinstance(value, list):
            raise FieldError(path, "expected a JSON array")
        container = getattr(message, found.name)
        del container[:]
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            if target is not None:
                parse_message(item, container.add(), where, strict=strict)
            elif item is None:
                raise FieldError(where, "null is not allowed in a repeated field")
            else:
                container.append(scalar(found, item, where))
    elif target is not None:
        child = getattr(message, found.name)
        child.Clear()
        parse_message(value, child, path, strict=strict)
        if not child.ListFields() and target.full_name not in WELL_KNOWN:
            # An empty object still marks the field present, as protojson does.
            child.SetInParent()
    else:
        setattr(message, found.name, scalar(found, value, path))


def _set_map(message: Message, found: FieldDescriptor, value: Any, path: str, strict: bool) -> None:
    if not isinstance(value, dict):
        raise FieldError(path, "expected a JSON object (a map)")
    entry: Any = found.message_type
    key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
    container = getattr(message, found.name)
    container.clear()
    for raw_key, item in value.items():
        where = f"{path}[{raw_key!r}]"
        key = map_key(key_field, raw_key, where)
        if value_field.message_type is not None:
            parse_message(item, container[key], where, strict=strict)
        elif item is None:
            raise FieldError(where, "null is not allowed as a map value")
        else:
            container[key] = scalar(value_field, item, where)


def map_key(key_field: FieldDescriptor, raw: str, path: str) -> Any:
    """Convert a JSON object key to a map key of the field's type."""
    if key_field.type == FieldDescriptor.TYPE_BOOL:
        if raw not in ("true", "false"):
            raise FieldError(path, "a bool map key must be 'true' or 'false'")
        return raw == "true"
    if key_field.type == FieldDescriptor.TYPE_STRING:
        return _string(raw, path)
    return scalar(key_field, raw, path)


def scalar(found: FieldDescriptor, value: Any, path: str) -> Any:
    """Convert a JSON scalar to the Python value of a non-message field."""
    kind = found.type
    if kind == FieldDescriptor.TYPE_STRING:
        return _string(value, path)
    if kind == FieldDescriptor.TYPE_BOOL:
        if not isinstance(value, bool):
            raise FieldError(path, "expected true or false")
        return value
    if kind == FieldDescriptor.TYPE_BYTES:
        return _bytes(value, path)
    if kind == FieldDescriptor.TYPE_ENUM:
        return _enum(found, value, path)
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return _float(value, path, single=kind == FieldDescriptor.TYPE_FLOAT)
    return _integer(value, path, _INT_RANGES[kind])


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise FieldError(path, "expected a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # JSON escapes can spell lone surrogates, which protobuf strings cannot hold.
        raise FieldError(path, "the string is not valid Unicode (a lone surrogate)") from None
    return value


def _integer(value: Any, path: str, bounds: tuple[int, int]) -> int:
    if isinstance(value, bool):
        raise FieldError(path, "expected an integer, not a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip() == value and value:
        try:
            number = int(value)
        except ValueError:
            try:
                as_float = float(value)
            except ValueError:
                raise FieldError(path, f"{value!r} is not an integer") from None
            if not as_float.is_integer():
                raise FieldError(path, f"{value!r} is not an integer") from None
            number = int(as_float)
    else:
        raise FieldError(path, "expected an integer")
    low, high = bounds
    if not low <= number <= high:
        raise FieldError(path, f"{number} is out of range [{low}, {high}]")
    return number


def _float(value: Any, path: str, *, single: bool) -> float:
    if isinstance(value, bool):
        raise FieldError(path, "expected a number, not a boolean")
    if isinstance(value, str) and value in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value]
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and value.strip() == value and value:
        try:
            number = float(value)
        except ValueError:
            raise FieldError(path, f"{value!r} is not a number") from None
        if math.isnan(number) or math.isinf(number):
            raise FieldError(path, f"{value!r} is not a number")
    else:
        raise FieldError(path, "expected a number")
    if single and math.isfinite(number) and abs(number) > _FLOAT_MAX:
        raise FieldError(path, f"{value!r} is out of range for a float")
    return number


def _bytes(value: Any, path: str) -> bytes:
    if not isinstance(value, str):
        raise FieldError(path, "expected a base64 string")
    text = value.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise FieldError(path, "invalid base64") from None


def _enum(found: FieldDescriptor, value: Any, path: str) -> int:
    enum: Any = found.enum_type
    if isinstance(value, str):
        named = enum.values_by_name.get(value)
        if named is None:
            raise FieldError(path, f"{value!r} is not a value of {enum.full_name}")
        return int(named.number)
    if isinstance(value, int) and not isinstance(value, bool):
        return _integer(value, path, _INT_RANGES[FieldDescriptor.TYPE_ENUM])
    raise FieldError(path, f"expected a name of {enum.full_name}")


def _parse_well_known(value: Any, message: Message, path: str, strict: bool) -> None:
    name = message.DESCRIPTOR.full_name
    if value is None and name != "google.protobuf.Value":
        return
    if name in WRAPPERS:
        # Wrappers: the JSON of the wrapped scalar, checked by our own scalar rules.
        inner: Any = message.DESCRIPTOR.fields_by_name["value"]
        setattr(message, "value", scalar(inner, value, path))  # noqa: B010
        return
    try:
        json_format.ParseDict(value, message, ignore_unknown_fields=not strict)
    except (json_format.ParseError, TypeError, ValueError, AttributeError) as error:
        raise FieldError(path, _clean(str(error), name)) from None


def _clean(text: str, type_name: str) -> str:
    """Keep json_format's reason, not its nesting of 'Failed to parse X field' prefixes."""
    text = text.strip().rstrip(".")
    while text.startswith("Failed to parse ") and ": " in text:
        text = text.split(": ", 1)[1]
    return f"invalid {type_name}: {text}" if text else f"invalid {type_name}"
