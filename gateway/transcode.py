"""Build a gRPC request from path variables, query parameters and body; render responses."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from gateway.errors import bad_request
from gateway.fieldmask import mask_from_body
from gateway.jsonpb import WRAPPERS, FieldError, field_map, parse_message, set_field
from gateway.limits import check_depth, too_deep
from gateway.render import Renderer
from gateway.routing import Binding

_QUERY_KEY = re.compile(r"^(?P<path>[^\[\]]+)(?:\[(?P<key>[^\]]*)\])?$")
# Messages whose JSON form is a string, so a query parameter can carry them whole.
STRING_FORMS = frozenset(
    {"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"}
)
_TRUE, _FALSE = {"true", "t", "1"}, {"false", "f", "0"}
UNKNOWN_QUERY = "unknown query parameter"


def _entry(found: FieldDescriptor) -> Any:
    return found.message_type


def _is_map(found: FieldDescriptor) -> bool:
    return found.message_type is not None and bool(found.message_type.GetOptions().map_entry)


def bound_paths(binding: Binding) -> set[str]:
    """Return the request field paths the path template and the body bind."""
    bound = {variable.field_path for variable in binding.template.variables}
    if binding.body and binding.body != "*":
        bound.add(binding.body)
    return bound


def query_value(found: FieldDescriptor, text: str) -> Any:
    """Turn a query or path string into the JSON value of a field."""
    target = found.message_type
    if target is not None and target.full_name in WRAPPERS:
        found = target.fields_by_name["value"]
    elif target is not None:
        return text
    if found.type == FieldDescriptor.TYPE_BOOL:
        lowered = text.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        return text  # the scalar check reports it
    if found.type == FieldDescriptor.TYPE_ENUM and re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    if found.type == FieldDescriptor.TYPE_BYTES:
        # Form decoding turned '+' into ' '; base64 has no spaces, so turn them back.
        return text.replace(" ", "+")
    return text


def _walk(descriptor: Any, key: str, dotted: str) -> list[FieldDescriptor]:
    fields: list[FieldDescriptor] = []
    message: Any = descriptor
    for name in dotted.split("."):
        found = field_map(message).get(name) if message is not None else None
        if found is None:
            raise FieldError(key, UNKNOWN_QUERY)
        if fields and fields[-1].is_repeated:
            raise FieldError(key, "fields inside repeated fields cannot be query parameters")
        if message is not None and message.full_name in STRING_FORMS | WRAPPERS:
            raise FieldError(key, UNKNOWN_QUERY)
        fields.append(found)
        message = found.message_type
    return fields


def _parent(message: Message, fields: list[FieldDescriptor]) -> Message:
    for found in fields[:-1]:
        message = getattr(message, found.name)
    return message


def _check_leaf(key: str, leaf: FieldDescriptor, is_map_key: bool) -> None:
    target = leaf.message_type
    if _is_map(leaf):
        value_field = target.fields_by_name["value"] if target is not None else None
        if not is_map_key:
            raise FieldError(key, "set map entries as name[key]=value")
        if value_field is not None and value_field.message_type is not None:
            raise FieldError(key, "maps of messages cannot be query parameters")
        return
    if is_map_key:
        raise FieldError(key, "only map fields take a [key]")
    if target is not None and target.full_name not in STRING_FORMS | WRAPPERS:
        kind = "repeated messages" if leaf.is_repeated else "messages"
        raise FieldError(key, f"{kind} cannot be query parameters; set their fields as a.b=value")


def apply_query(
    message: Message,
    query: Iterable[tuple[str, str]],
    bound: set[str],
    body_is_all: bool,
    *,
    strict: bool = True,
) -> None:
    """Set the message's unbound fields from query parameters, grpc-gateway style.

    Not strict (grpc-gateway's way), parameters for unknown fields, for fields the path or the
    body binds, and any parameter of a `body: "*"` route are skipped instead of refused.
    """
    singles: dict[str, tuple[list[FieldDescriptor], Any, str]] = {}
    lists: dict[str, tuple[list[FieldDescriptor], list[Any], str]] = {}
    maps: dict[str, tuple[list[FieldDescriptor], dict[str, Any], str]] = {}
    for key, text in query:
        if body_is_all:
            if strict:
                raise FieldError(
                    key, "query parameters are not accepted: the body carries the request"
                )
            return
        parsed = _QUERY_KEY.match(key)
        if parsed is None:
            if strict:
                raise FieldError(key, "malformed query parameter name")
            continue
        try:
            fields = _walk(message.DESCRIPTOR, key, parsed.group("path"))
        except FieldError as error:
            if strict or error.description != UNKNOWN_QUERY:
                raise
            continue
        proto_path = ".".join(f.name for f in fields)
        if any(proto_path == b or proto_path.startswith(b + ".") for b in bound):
            if strict:
                raise FieldError(key, "the field is bound by the path or the body")
            continue  # the path (or body) wins, as grpc-gateway's filter has it
        if any(b.startswith(proto_path + ".") for b in bound):
            raise FieldError(key, "the field is bound by the path or the body")
        leaf = fields[-1]
        _check_leaf(key, leaf, parsed.group("key") is not None)
        if _is_map(leaf):
            value_field = _entry(leaf).fields_by_name["value"]
            entries = maps.setdefault(proto_path, (fields, {}, parsed.group("path")))[1]
            entries[parsed.group("key")] = query_value(value_field, text)
        elif leaf.is_repeated:
            lists.setdefault(proto_path, (fields, [], key))[1].append(query_value(leaf, text))
        elif proto_path in singles:
            raise FieldError(key, "a single-valued field is given more than once")
        else:
            singles[proto_path] = (fields, query_value(leaf, text), key)
    _check_oneofs(singles)
    for fields, value, key in [*singles.values(), *lists.values(), *maps.values()]:
        try:
            set_field(_parent(message, fields), fields[-1], value, key)
        except FieldError as error:
            # Name the parameter as the client spelled it, not the proto path or list index.
            field = error.field if _is_map(fields[-1]) else key
            raise FieldError(field, error.description) from None


def _check_oneofs(singles: dict[str, tuple[list[FieldDescriptor], Any, str]]) -> None:
    """Refuse two members of one oneof, which protobuf would otherwise resolve silently."""
    seen: dict[tuple[str, str], str] = {}
    for fields, _, key in singles.values():
        oneof = fields[-1].containing_oneof
        if oneof is None or len(oneof.fields) < 2:  # a proto3 `optional` is a oneof of one
            continue
        group = (".".join(f.name for f in fields[:-1]), oneof.name)
        if group in seen:
            raise FieldError(key, f"{seen[group]!r} already sets oneof {oneof.name!r}")
        seen[group] = key


def apply_path(message: Message, variables: dict[str, str]) -> None:
    """Set the fields named by path variables; they win over the body."""
    for dotted, text in variables.items():
        fields: list[FieldDescriptor] = []
        descriptor: Any = message.DESCRIPTOR
        for name in dotted.split("."):
            fields.append(descriptor.fields_by_name[name])
            descriptor = fields[-1].message_type
        leaf = fields[-1]
        # A repeated field bound by the path takes a comma-separated list, as grpc-gateway's
        # generated handlers split it (runtime.StringSlice and friends).
        value = (
            [query_value(leaf, item) for item in text.split(",")]
            if leaf.is_repeated
            else query_value(leaf, text)
        )
        set_field(_parent(message, fields), leaf, value, dotted)


def decode_json(body: bytes) -> Any:
    """Decode a JSON request body, or raise a 400 that says why."""
    check_depth(body)
    try:
        return json.loads(body)
    except RecursionError:
        raise too_deep() from None
    except (UnicodeDecodeError, ValueError) as error:
        raise bad_request("", f"the body is not valid JSON: {error}", "INVALID_JSON") from None


def apply_body(message: Message, binding: Binding, body: bytes, *, strict: bool = True) -> Any:
    """Merge the JSON body into the request: all of it, or the one field the rule names.

    Return the decoded JSON (None without a body), from which a PATCH may derive its mask.
    """
    if not binding.body or not body.strip():
        return None
    value = decode_json(body)
    if binding.body == "*":
        parse_message(value, message, strict=strict)
        return value
    names = binding.body.split(".")
    parent = message
    for name in names[:-1]:
        parent = getattr(parent, name)
    found: Any = parent.DESCRIPTOR.fields_by_name[names[-1]]
    set_field(parent, found, value, binding.body, strict=strict)
    return value


def fill_update_mask(message: Message, binding: Binding, value: Any) -> None:
    """Give a PATCH without an update mask the body's fields as its mask, as grpc-gateway does."""
    mask = getattr(message, binding.mask_field)
    if mask.paths:
        return
    target: Any = message.DESCRIPTOR
    for name in binding.body.split("."):
        target = target.fields_by_name[name].message_type
    mask.paths.extend(mask_from_body(value, target))


class QueryMemo:
    """What a bodiless request's query parameters set, kept as wire bytes (or their error).

    A page size or filter comes again and again with the same words: walking the fields for
    them costs more than merging their bytes. A few hundred are kept, all dropped when full.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._known: dict[tuple[int, bool, tuple[tuple[str, str], ...]], bytes | FieldError] = {}

    def apply(
        self, message: Message, binding: Binding, query: list[tuple[str, str]], strict: bool
    ) -> None:
        """Set `message`'s fields from the query, as apply_query would (or raise its error)."""
        # Bindings live as long as the router: their identity names them.
        key = (id(binding), strict, tuple(query))
        known = self._known.get(key)
        if known is None:
            part = type(message)()
            try:
                apply_query(part, query, bound_paths(binding), False, strict=strict)
                known = part.SerializeToString()
            except FieldError as error:
                known = error
            if len(self._known) >= self._size:
                self._known.clear()
            self._known[key] = known
        if isinstance(known, FieldError):
            raise FieldError(known.field, known.description)
        message.MergeFromString(known)


def build_request(
    binding: Binding,
    message: Message,
    variables: dict[str, str],
    query: list[tuple[str, str]],
    body: bytes,
    *,
    strict: bool = True,
    queries: QueryMemo | None = None,
) -> Message:
    """Fill `message` from body, query and path (in that order), or raise a 400 GatewayError.

    With `queries`, a binding without a body takes its query's fields from there.
    """
    try:
        value = apply_body(message, binding, body, strict=strict)
        # Most calls have no query: nothing then works out which fields the rule binds.
        if query and queries is not None and not binding.body and not body:
            queries.apply(message, binding, query, strict)
        elif query:
            apply_query(message, query, bound_paths(binding), binding.body == "*", strict=strict)
        apply_path(message, variables)
        if binding.mask_field:
            fill_update_mask(message, binding, value)
    except FieldError as error:
        raise bad_request(error.field, error.description) from None
    return message


def message_from_value(
    binding: Binding,
    message: Message,
    value: Any,
    variables: dict[str, str],
    query: Any,
    strict: bool,
) -> Message:
    """Build one request of a stream from its decoded JSON, path and query; or raise a 400."""
    try:
        parse_message(value, message, strict=strict)
    except FieldError as error:
        raise bad_request(error.field, error.description) from None
    return build_request(binding, message, variables, query, b"", strict=strict)


def parse_stream_message(message: Message, text: str | bytes, *, strict: bool = True) -> Message:
    """Parse one JSON message of a streamed request, or raise a 400 GatewayError."""
    try:
        raw = text if isinstance(text, bytes) else text.encode()
        parse_message(decode_json(raw), message, strict=strict)
    except FieldError as error:
        raise bad_request(error.field, error.description) from None
    return message


def render(binding: Binding, response: Message, renderer: Renderer) -> Any:
    """Return the JSON value of a response, or of its response_body field."""
    if not binding.response_body:
        return renderer.to_json(response)
    found = response.DESCRIPTOR.fields_by_name[binding.response_body]
    if found.message_type is not None and not found.is_repeated:
        return renderer.to_json(getattr(response, found.name))
    return renderer.to_json(response).get(found.json_name)


# One encoder for every answer: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> bytes:
    """Encode JSON compactly, as UTF-8."""
    return _ENCODER.encode(value).encode()
