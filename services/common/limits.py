"""Request limits from the contract, checked before a domain sees a request.

Each RPC accepts messages up to its `(filmstudio.v1.max_request_bytes)` option (the server's
default when unset); the transport refuses anything over the largest of them, and the guard here
refuses a message over its own method's limit from its raw size, before parsing. A parsed request
must also be well formed where protobuf alone does not say so: Structs nest at most
MAX_STRUCT_DEPTH levels and Timestamps lie in 0001-9999, the range RFC 3339 and datetime cover.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, cast

from filmstudio.v1 import options_pb2
from google.protobuf import message as protobuf
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor

from services.common import errors
from services.common.access import method_path, service_descriptor

MAX_STRUCT_DEPTH = 20
# Timestamp's documented range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
MIN_TIMESTAMP_SECONDS = -62_135_596_800
MAX_TIMESTAMP_SECONDS = 253_402_300_799
_STRUCTS = frozenset(
    {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"}
)
_TIMESTAMP = "google.protobuf.Timestamp"

Deserializer = Callable[[bytes], Any]


class Rejected:
    """What a guarded deserializer returns for a refused unary request; the call raises it."""

    __slots__ = ("error",)

    def __init__(self, error: errors.InvalidArgument) -> None:
        self.error = error


def declared_limit(method: MethodDescriptor) -> int:
    """Return the method's `max_request_bytes` option, 0 when it declares none."""
    return int(method.GetOptions().Extensions[cast(Any, options_pb2.max_request_bytes)])


@cache
def _checked(descriptor: Descriptor) -> bool:
    """Tell whether a message can hold a Struct or a Timestamp somewhere inside."""
    return _reaches(descriptor, set())


def _reaches(descriptor: Descriptor, seen: set[str]) -> bool:
    if descriptor.full_name in _STRUCTS or descriptor.full_name == _TIMESTAMP:
        return True
    seen.add(descriptor.full_name)
    return any(
        field.message_type is not None
        and field.message_type.full_name not in seen
        and _reaches(field.message_type, seen)
        for field in descriptor.fields
    )


def _struct_depth(value: Any, budget: int) -> int:
    """Return the nesting of a Struct, Value or ListValue, stopping once past `budget`."""
    name = value.DESCRIPTOR.full_name
    if name == "google.protobuf.Value":
        kind = value.WhichOneof("kind")
        if kind == "struct_value":
            return _struct_depth(value.struct_value, budget)
        if kind == "list_value":
            return _struct_depth(value.list_value, budget)
        return 0
    if budget <= 0:
        return 1
    children = value.fields.values() if name == "google.protobuf.Struct" else value.values
    deepest = 0
    for child in children:
        deepest = max(deepest, _struct_depth(child, budget - 1))
        if deepest >= budget:
            break
    return 1 + deepest


def violations(message: protobuf.Message, path: str = "") -> list[errors.FieldViolation]:
    """Return what is malformed in a parsed request: too deep a Struct, an impossible Timestamp."""
    found: list[errors.FieldViolation] = []
    for field, value in message.ListFields():
        if field.message_type is None or not _checked(field.message_type):
            continue
        name = f"{path}.{field.name}" if path else field.name
        if field.message_type.GetOptions().map_entry:
            items = [(f"{name}[{key!r}]", item) for key, item in value.items()]
            entry: FieldDescriptor = field.message_type.fields_by_name["value"]
            if entry.message_type is None:
                continue
        elif field.is_repeated:
            items = [(f"{name}[{index}]", item) for index, item in enumerate(value)]
        else:
            items = [(name, value)]
        for where, item in items:
            found.extend(_check(item, where))
    return found


def _check(item: protobuf.Message, where: str) -> list[errors.FieldViolation]:
    kind = item.DESCRIPTOR.full_name
    if kind == _TIMESTAMP:
        stamp: Any = item
        if not MIN_TIMESTAMP_SECONDS <= stamp.seconds <= MAX_TIMESTAMP_SECONDS:
            return [errors.FieldViolation(where, "must be between years 0001 and 9999", "RANGE")]
        if not 0 <= stamp.nanos < 1_000_000_000:
            return [errors.FieldViolation(where, "nanos must be in 0..999999999", "RANGE")]
        return []
    if kind in _STRUCTS:
        if _struct_depth(item, MAX_STRUCT_DEPTH) > MAX_STRUCT_DEPTH:
            description = f"nests deeper than {MAX_STRUCT_DEPTH} levels"
            return [errors.FieldViolation(where, description, "TOO_DEEP")]
        return []
    return violations(item, where)


def _invalid(violation: errors.FieldViolation, reason: str) -> errors.InvalidArgument:
    return errors.InvalidArgument([violation], reason=reason)


class RequestGuard:
    """Each hosted RPC's request limit, and the deserializers that enforce it before parsing."""

    def __init__(self, service_names: Iterable[str], default_bytes: int) -> None:
        self.default_bytes = default_bytes
        self.limits: dict[str, int] = {}
        self.inputs: dict[str, Descriptor] = {}
        for name in service_names:
            service = service_descriptor(name)
            for method in service.methods:
                path = method_path(service, method.name)
                self.limits[path] = declared_limit(method) or default_bytes
                self.inputs[path] = method.input_type

    @property
    def largest(self) -> int:
        """Return the largest message any hosted RPC accepts (the transport's receive limit)."""
        return max([self.default_bytes, *self.limits.values()])

    def deserializer(
        self, method: str, parse: Deserializer | None, *, streaming: bool
    ) -> Deserializer | None:
        """Wrap a method's deserializer: size first, then parse, then shape.

        A unary request that fails comes back as Rejected, for the interceptor to raise inside
        its scope (an exception here would become UNKNOWN); in a request stream the error is
        raised where the servicer reads the message, which is inside that scope already.
        """
        limit = self.limits.get(method)
        descriptor = self.inputs.get(method)
        if parse is None or limit is None or descriptor is None:
            return parse
        checked = _checked(descriptor)
        type_name = descriptor.full_name

        def guarded(raw: bytes) -> Any:
            error = None
            if len(raw) > limit:
                error = _invalid(
                    errors.FieldViolation(
                        "request",
                        f"is {len(raw)} bytes; {method} accepts at most {limit}",
                        "TOO_LARGE",
                    ),
                    "REQUEST_TOO_LARGE",
                )
            else:
                try:
                    request = parse(raw)
                except protobuf.DecodeError:
                    description = f"is not a valid {type_name} (malformed or nested too deeply)"
                    error = _invalid(
                        errors.FieldViolation("request", description, "MALFORMED"),
                        "MALFORMED_REQUEST",
                    )
                else:
                    found = violations(request) if checked else []
                    if not found:
                        return request
                    error = errors.InvalidArgument(found)
            if streaming:
                raise error
            return Rejected(error)

        return guarded
