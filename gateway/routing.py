"""HTTP rules from the descriptors: path templates, bindings, and the router that matches them."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, cast
from urllib.parse import unquote

import grpc
from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor, ServiceDescriptor

from gateway.errors import GatewayError

log = logging.getLogger(__name__)

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HTTP_KINDS = ("get", "put", "post", "delete", "patch")


class TemplateError(ValueError):
    """A path template does not follow the google.api.http syntax."""


@dataclass(frozen=True)
class Variable:
    """A `{field.path=segments}` part of a template."""

    field_path: str
    segments: tuple[str, ...]


@dataclass(frozen=True)
class PathTemplate:
    """A parsed template: literal, `*`, `**` and variable segments, and an optional verb."""

    text: str
    segments: tuple[str | Variable, ...]
    verb: str
    pattern: re.Pattern[str] = field(compare=False)

    @cached_property
    def variables(self) -> tuple[Variable, ...]:
        """Return the variables in order."""
        return tuple(s for s in self.segments if isinstance(s, Variable))

    @property
    def prefix(self) -> str:
        """Return the literal start every matching path has, e.g. "/v1/projects/"."""
        literals: list[str] = []
        for segment in self.segments:
            parts = segment.segments if isinstance(segment, Variable) else (segment,)
            for part in parts:
                if part == "**":  # it may match no segment: the path may stop before its '/'
                    return "/" + "/".join(literals)
                if part == "*":
                    return "/" + "".join(f"{literal}/" for literal in literals)
                literals.append(part)
        return "/" + "/".join(literals)

    @property
    def specificity(self) -> tuple[int, int]:
        """Rank templates: more literal segments first, fewer `**` next."""
        flat = [p for s in self.segments for p in (s.segments if isinstance(s, Variable) else [s])]
        literals = sum(1 for p in flat if p not in ("*", "**")) + (1 if self.verb else 0)
        return literals, -sum(1 for p in flat if p == "**")

    def match(self, raw_path: str) -> dict[str, str] | None:
        """Return the percent-decoded variable values if the raw path matches."""
        found = self.pattern.match(raw_path)
        if found is None:
            return None
        return {
            variable.field_path: unquote(value)
            for variable, value in zip(self.variables, found.groups(), strict=True)
        }


def _segment_regex(part: str) -> str:
    if part == "*":
        return "[^/]+"
    if part == "**":
        return ".+"
    return re.escape(part)


_PCHAR = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+")
_EOF = "\x00"
_PUNCTUATION = frozenset("/{}.=")


def _tokenize(path: str) -> tuple[list[str], str]:
    """Split a template (without its leading '/') into tokens and a verb, as grpc-gateway does."""
    tokens: list[str] = []
    state = "init"
    stops = {"init": "/{", "field": ".=}", "nested": "/}"}
    while path:
        index = next((i for i, c in enumerate(path) if c in stops[state]), -1)
        if index < 0:
            tokens.append(path)
            break
        char = path[index]
        state = {"{": "field", "=": "nested", "}": "init"}.get(char, state)
        if index:
            tokens.append(path[:index])
        tokens.append(char)
        path = path[index + 1 :]
    verb = ""
    if tokens:
        # The verb follows the last ':' of the last segment, or the first one right after a
        # variable: "{uuid}:custom:custom" has the verb "custom:custom".
        last = tokens[-1]
        after_variable = len(tokens) >= 2 and tokens[-2] == "}"
        split = last.find(":") if after_variable else last.rfind(":")
        if split == 0:
            tokens, verb = tokens[:-1], last[1:]
        elif split > 0:
            tokens[-1], verb = last[:split], last[split + 1 :]
    return [*tokens, _EOF], verb


class _Parser:
    """The google.api.http template grammar, as grpc-gateway's httprule parser reads it."""

    def __init__(self, tokens: list[str], text: str) -> None:
        self.tokens, self.text = tokens, text

    def fail(self, why: str) -> TemplateError:
        return TemplateError(f"template {self.text!r}: {why}")

    def accept(self, token: str) -> bool:
        if self.tokens[0] == token:
            self.tokens.pop(0)
            return True
        return False

    def segments(self, nested: bool) -> list[str | Variable]:
        found = [self.segment(nested)]
        while self.accept("/"):
            found.append(self.segment(nested))
        return found

    def segment(self, nested: bool) -> str | Variable:
        token = self.tokens[0]
        if token in ("*", "**") or (token not in _PUNCTUATION and _PCHAR.fullmatch(token)):
            self.tokens.pop(0)
            return token
        if not nested and self.accept("{"):
            return self.variable()
        raise self.fail(f"unexpected {token!r}" if token != _EOF else "an empty segment")

    def variable(self) -> Variable:
        names = [self.ident()]
        while self.accept("."):
            names.append(self.ident())
        inner: tuple[str, ...] = ("*",)
        if self.accept("="):
            parts = self.segments(nested=True)
            inner = tuple(p for p in parts if isinstance(p, str))
        if not self.accept("}"):
            raise self.fail(f"unterminated variable {'.'.join(names)!r}")
        return Variable(".".join(names), inner)

    def ident(self) -> str:
        token = self.tokens.pop(0)
        if not _IDENT.fullmatch(token):
            raise self.fail(f"bad field name {token!r}")
        return token


def parse_template(text: str) -> PathTemplate:
    """Parse `/v1/{name=projects/*}:verb` into a template with a compiled matcher."""
    if not text.startswith("/"):
        raise TemplateError(f"template {text!r} must start with '/'")
    tokens, verb = _tokenize(text[1:])
    parser = _Parser(tokens, text)
    segments = parser.segments(nested=False) if tokens[0] != _EOF else []
    if parser.tokens[0] != _EOF:
        raise parser.fail(f"unexpected {parser.tokens[0]!r}")
    if text.endswith(":") and not verb:
        raise parser.fail("an empty verb")
    flat = [p for s in segments for p in (s.segments if isinstance(s, Variable) else (s,))]
    if flat.count("**") > 1:
        raise parser.fail("more than one '**'")
    regex, index = [], 0
    for segment in segments:
        if isinstance(segment, Variable):
            inner = "/".join(_segment_regex(p) for p in segment.segments)
            regex.append(f"(?P<v{index}>{inner})")
            index += 1
        else:
            regex.append(_segment_regex(segment))
    pattern = "^/" + "/".join(regex)
    last = segments[-1] if segments else None
    if not verb and (last == "**" or (isinstance(last, Variable) and last.segments == ("**",))):
        # A final '**' matches no segment too, as grpc-gateway's OpPushM: `/v1/files` and
        # `/v1/files/` bind "" to `{path=**}`.
        tail = f"(?P<v{index - 1}>.*)" if isinstance(last, Variable) else ".*"
        head = "/".join(regex[:-1])
        pattern = "^/" + (head + "(?:/|$)" if head else "") + tail
    pattern += (":" + re.escape(verb) if verb else "") + "$"
    return PathTemplate(text, tuple(segments), verb, re.compile(pattern))


@dataclass(frozen=True)
class Binding:
    """One HTTP binding of an RPC: verb, template, body and response_body."""

    method: MethodDescriptor
    http_method: str
    template: PathTemplate
    body: str
    response_body: str
    # Position among the RPC's bindings (0 for the main rule), for unique OpenAPI operation ids.
    index: int = 0
    # The FieldMask a PATCH without one gets from its body's fields ("" where none applies).
    mask_field: str = ""

    @property
    def rpc_path(self) -> str:
        """Return the gRPC path, "/pkg.Service/Method"."""
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def server_streaming(self) -> bool:
        """Tell whether the RPC streams responses."""
        return bool(self.method.server_streaming)

    @property
    def client_streaming(self) -> bool:
        """Tell whether the RPC streams requests."""
        return bool(self.method.client_streaming)


def http_rule(method: MethodDescriptor) -> http_pb2.HttpRule | None:
    """Return the google.api.http rule of a method, or None."""
    options = method.GetOptions()
    extension = cast(Any, annotations_pb2.http)
    if not options.HasExtension(extension):
        return None
    return cast(http_pb2.HttpRule, options.Extensions[extension])


def resolve_field(method: MethodDescriptor, path: str) -> list[FieldDescriptor]:
    """Return the fields along a dotted path in the request message, or raise TemplateError."""
    message: Any = method.input_type
    fields: list[FieldDescriptor] = []
    for name in path.split("."):
        if message is None or name not in message.fields_by_name:
            raise TemplateError(f"{method.full_name}: no field {path!r} in the request")
        found = message.fields_by_name[name]
        fields.append(found)
        message = found.message_type
    return fields


def _bindings_of(method: MethodDescriptor, rule: http_pb2.HttpRule, index: int) -> Binding:
    kind = rule.WhichOneof("pattern")
    if kind == "custom":
        verb, text = rule.custom.kind.upper(), rule.custom.path
    elif kind in _HTTP_KINDS:
        verb, text = kind.upper(), getattr(rule, kind)
    else:
        raise TemplateError(f"{method.full_name}: an HTTP rule without a pattern")
    template = parse_template(text)
    for variable in template.variables:
        fields = resolve_field(method, variable.field_path)
        # A repeated leaf takes a comma-separated list, as grpc-gateway binds it; a repeated
        # field on the way to it cannot be addressed, nor can a map.
        if any(f.is_repeated for f in fields[:-1]) or _is_map_field(fields[-1]):
            raise TemplateError(
                f"{method.full_name}: path variable {variable.field_path} cannot be bound"
            )
    mask = ""
    if rule.body not in ("", "*"):
        body = resolve_field(method, rule.body)[-1]
        if verb == "PATCH" and body.message_type is not None and not body.is_repeated:
            mask = _patch_mask_field(method)
    if rule.response_body and rule.response_body not in method.output_type.fields_by_name:
        raise TemplateError(f"{method.full_name}: no response field {rule.response_body!r}")
    return Binding(method, verb, template, rule.body, rule.response_body, index, mask)


def _patch_mask_field(method: MethodDescriptor) -> str:
    """Return the request's one FieldMask field, which grpc-gateway fills on PATCH; else ""."""
    masks = [
        found.name
        for found in method.input_type.fields
        if found.message_type is not None
        and found.message_type.full_name == "google.protobuf.FieldMask"
        and not found.is_repeated
    ]
    # grpc-gateway's generator leaves a request with two masks alone: which one is meant?
    return masks[0] if len(masks) == 1 else ""


def bindings_for(services: Iterable[ServiceDescriptor]) -> list[Binding]:
    """Return every HTTP binding of the services' methods, additional bindings included."""
    bindings: list[Binding] = []
    for service in services:
        for method in service.methods:
            rule = http_rule(method)
            if rule is None:
                continue
            rules = [rule, *rule.additional_bindings]
            for index, one in enumerate(rules):
                try:
                    bindings.append(_bindings_of(method, one, index))
                except TemplateError as error:
                    # One rule the gateway cannot serve leaves the other routes alone.
                    log.warning("HTTP rule skipped: %s", error, extra={"rpc": method.full_name})
    return bindings


def _is_map_field(found: FieldDescriptor) -> bool:
    entry = found.message_type
    return entry is not None and bool(entry.GetOptions().map_entry)


class Router:
    """Match a method and raw path to a binding, most specific template first."""

    def __init__(self, bindings: Iterable[Binding]) -> None:
        self.bindings = list(bindings)
        self._by_verb: dict[str, list[tuple[str, Binding]]] = {}
        ordered = sorted(self.bindings, key=lambda b: b.template.specificity, reverse=True)
        # The sort is stable: declaration order stays between equally specific templates.
        for binding in ordered:
            entry = (binding.template.prefix, binding)
            self._by_verb.setdefault(binding.http_method, []).append(entry)
        # Per verb and second path segment ("projects" of /v1/projects/7), the routes a path
        # there may match, in the same order: those whose prefix names that segment whole,
        # and those whose prefix stops before it ends (they may match any path).
        self._by_segment: dict[tuple[str, str], list[tuple[str, Binding]]] = {}
        self._anywhere: dict[str, list[tuple[str, Binding]]] = {}
        for verb, entries in self._by_verb.items():
            self._anywhere[verb] = [e for e in entries if _second_segment(e[0]) is None]
            named = {_second_segment(prefix) for prefix, _ in entries} - {None}
            for segment in named:
                self._by_segment[verb, str(segment)] = [
                    (prefix, binding)
                    for prefix, binding in entries
                    if _second_segment(prefix) in (segment, None)
                ]

    def _candidates(self, verb: str, raw_path: str) -> list[tuple[str, Binding]]:
        parts = raw_path.split("/", 3)
        if len(parts) == 4:  # a second segment that a '/' ends: a prefix may name it whole
            found = self._by_segment.get((verb, parts[2]))
            if found is not None:
                return found
        return self._anywhere.get(verb, [])

    def match(self, verb: str, raw_path: str) -> tuple[Binding, dict[str, str]]:
        """Return the binding and path variables, or raise a 404 or 501 GatewayError."""
        for prefix, binding in self._candidates(verb, raw_path):
            # A string prefix test is much cheaper than the regex and rules out most routes.
            if not raw_path.startswith(prefix):
                continue
            variables = binding.template.match(raw_path)
            if variables is not None:
                return binding, variables
        allowed = sorted(
            other
            for other, candidates in self._by_verb.items()
            if other != verb and any(b.template.match(raw_path) is not None for _, b in candidates)
        )
        if allowed:
            # grpc-gateway's routing error: UNIMPLEMENTED, so 501; the Allow header is ours.
            raise GatewayError(
                grpc.StatusCode.UNIMPLEMENTED,
                "Method Not Allowed",
                headers=[("allow", ", ".join(allowed))],
            )
        raise GatewayError(grpc.StatusCode.NOT_FOUND, "Not Found")


def _second_segment(prefix: str) -> str | None:
    """Return the second segment a route's literal prefix names whole ("/v1/x/..."), or None."""
    parts = prefix.split("/", 3)
    return parts[2] if len(parts) == 4 else None
