"""Messages to proto3 JSON, as json_format writes them but with a plan cached per message type.

json_format re-inspects every field of every message it writes; the gateway writes the same few
types over and over, so it plans each type once (which fields, under which JSON names, through
which converter) and keeps json_format for the well-known types whose JSON is special.
"""

from __future__ import annotations

import base64
import datetime
import math
from collections.abc import Callable
from typing import Any

from google.protobuf import descriptor_pool, json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.internal import type_checkers
from google.protobuf.message import Message

from gateway.jsonpb import WELL_KNOWN

Convert = Callable[[Any], Any]
_INT64 = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_SFIXED64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_FIXED64,
    }
)
_SPECIAL_FORMS = WELL_KNOWN | {"google.protobuf.Empty"}
_Quick = tuple[dict[str, Any], dict[int, tuple[str, "Convert | None"]]]

_EPOCH = datetime.datetime(1970, 1, 1)
# The instants proto3 JSON can write: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
_TIMESTAMP_SECONDS = range(-62_135_596_800, 253_402_300_800)
_WRITTEN_TIMES: dict[tuple[int, int], str] = {}
_WRITTEN_TIMES_KEPT = 8192


def _json_string(message: Any) -> str:
    return str(message.ToJsonString())


def _timestamp(message: Any) -> str:
    """Write a Timestamp as its ToJsonString() does, minus the generic machinery around it."""
    seconds, nanos = message.seconds, message.nanos
    # Answers repeat the same few instants (a resource's create and update times, read again
    # and again): each is written once.
    key = (seconds, nanos)
    text = _WRITTEN_TIMES.get(key)
    if text is None:
        if len(_WRITTEN_TIMES) >= _WRITTEN_TIMES_KEPT:
            _WRITTEN_TIMES.clear()
        text = _WRITTEN_TIMES[key] = _write_timestamp(seconds, nanos, message)
    return text


def _write_timestamp(seconds: int, nanos: int, message: Any) -> str:
    """Write one instant in proto3 JSON (RFC 3339, UTC, 0, 3, 6 or 9 fractional digits)."""
    if seconds not in _TIMESTAMP_SECONDS or not 0 <= nanos < 1_000_000_000:
        return _json_string(message)  # out of range: protobuf raises its own ValueError
    text = (_EPOCH + datetime.timedelta(seconds=seconds)).isoformat()
    if not nanos:
        return text + "Z"
    if not nanos % 1_000_000:
        return f"{text}.{nanos // 1_000_000:03d}Z"
    if not nanos % 1000:
        return f"{text}.{nanos // 1000:06d}Z"
    return f"{text}.{nanos:09d}Z"


# json_format writes these as their ToJsonString(); writing them directly skips its printer.
_STRING_WRITERS: dict[str, Callable[[Any], str]] = {
    "google.protobuf.Timestamp": _timestamp,
    "google.protobuf.Duration": _json_string,
    "google.protobuf.FieldMask": _json_string,
}


def _double(value: float) -> Any:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _float(value: float) -> Any:
    special = _double(value)
    return special if isinstance(special, str) else type_checkers.ToShortestFloat(value)


def _bytes(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _same(value: Any) -> Any:
    return value


def _map_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


class Renderer:
    """Render messages of one descriptor pool as proto3 JSON values."""

    def __init__(self, pool: descriptor_pool.DescriptorPool | None = None) -> None:
        self.pool = pool
        # Per field: name, JSON name, presence, the converter (None: the value as it is), and
        # whether it is written as null when unset (singular messages outside oneofs).
        self._plans: dict[str, list[tuple[str, str, bool, Convert | None, bool]]] = {}
        # Per message type: its unset form and, by field number, each field's key and
        # converter; () for a type written field by field.
        self._quick: dict[str, _Quick | tuple[()]] = {}

    def to_json(self, message: Message) -> Any:
        """Return the JSON value of a message as protojson with EmitUnpopulated writes it.

        That is grpc-gateway's default marshaler: unset scalars, lists and maps as their zero
        values, unset message fields as null, unset oneof members (proto3 optional too) left out.
        """
        descriptor = message.DESCRIPTOR
        quick = self._quick.get(descriptor.full_name)
        if quick is None:
            if descriptor.full_name in _SPECIAL_FORMS:
                if (write := _STRING_WRITERS.get(descriptor.full_name)) is not None:
                    return write(message)
                return json_format.MessageToDict(message, descriptor_pool=self.pool)
            quick = self._quick[descriptor.full_name] = self._quick_plan(message)
        if quick:
            unset, by_number = quick
            # Only the fields that are set are visited: the rest keep their unset form.
            out = unset.copy()
            for field, value in message.ListFields():
                known = by_number.get(field.number)
                if known is None:  # an extension: the plan does not know it
                    return self._each_field(message)
                key, convert = known
                out[key] = value if convert is None else convert(value)
            return out
        return self._each_field(message)

    def _quick_plan(self, message: Message) -> _Quick | tuple[()]:
        """Plan a type written from its set fields over its unset form; () where it cannot be.

        A oneof member or proto2 field left out when unset would come last in the output if
        written over the unset form: such types take every field in turn.
        """
        plan = self._plan_of(message.DESCRIPTOR)
        if any(presence and not null for _, _, presence, _, null in plan):
            return ()
        # Shared by every answer of this type: its lists and maps are never changed.
        unset = self._each_field(type(message)())
        numbers = {field.name: field.number for field in message.DESCRIPTOR.fields}
        by_number = {numbers[name]: (key, convert) for name, key, _, convert, _ in plan}
        return unset, by_number

    def _plan_of(self, descriptor: Any) -> list[tuple[str, str, bool, Convert | None, bool]]:
        plan = self._plans.get(descriptor.full_name)
        if plan is None:
            plan = self._plans[descriptor.full_name] = self._plan(descriptor)
        return plan

    def _each_field(self, message: Message) -> dict[str, Any]:
        """Write a message field by field, in declaration order."""
        out: dict[str, Any] = {}
        for name, key, presence, convert, null in self._plan_of(message.DESCRIPTOR):
            if presence and not message.HasField(name):
                if null:
                    out[key] = None
                continue
            value = getattr(message, name)
            out[key] = value if convert is None else convert(value)
        return out

    def _plan(self, descriptor: Any) -> list[tuple[str, str, bool, Convert | None, bool]]:
        plan = []
        for field in descriptor.fields:
            null = (
                field.message_type is not None
                and not field.is_repeated
                and field.containing_oneof is None
            )
            convert = self._converter(field)
            plan.append((field.name, field.json_name, field.has_presence, convert, null))
        return plan

    def _converter(self, field: FieldDescriptor) -> Convert | None:
        target = field.message_type
        if target is not None and target.GetOptions().map_entry:
            value = self._value(target.fields_by_name["value"])
            return lambda mapping: {_map_key(k): value(v) for k, v in mapping.items()}
        one = self._value(field)
        if field.is_repeated:
            return list if one is _same else lambda items: [one(item) for item in items]
        # Most fields are strings, bools and small ints: no call at all for them.
        return None if one is _same else one

    def _value(self, field: FieldDescriptor) -> Convert:
        kind = field.type
        if kind == FieldDescriptor.TYPE_MESSAGE or kind == FieldDescriptor.TYPE_GROUP:
            # Resources carry create and update times: string forms skip to_json's dispatch.
            target = field.message_type
            write = _STRING_WRITERS.get(target.full_name) if target is not None else None
            return self.to_json if write is None else write
        if kind == FieldDescriptor.TYPE_ENUM:
            enum: Any = field.enum_type
            if enum.full_name == "google.protobuf.NullValue":
                return lambda _: None
            names = {number: value.name for number, value in enum.values_by_number.items()}
            return lambda number: names.get(number, number)
        if kind in _INT64:
            return str
        if kind == FieldDescriptor.TYPE_BYTES:
            return _bytes
        if kind == FieldDescriptor.TYPE_DOUBLE:
            return _double
        if kind == FieldDescriptor.TYPE_FLOAT:
            return _float
        return _same
