"""OpenAPI 3.1 from the same descriptors and HTTP rules the router uses."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.rpc import status_pb2

from gateway.config import GatewayConfig
from gateway.jsonpb import WRAPPERS
from gateway.routing import Binding, Variable, resolve_field
from gateway.schemas import Schemas, scalar_schema
from gateway.transcode import STRING_FORMS, bound_paths
from gateway.unary import is_http_body

MAX_QUERY_DEPTH = 4
BEARER = "bearerAuth"
# Names of the (filmstudio.v1.access) values that need a signed-in caller.
PUBLIC_ACCESS = "ACCESS_PUBLIC"


def _camel_path(fields: list[FieldDescriptor]) -> str:
    return ".".join(f.json_name for f in fields)


def access_of(method: MethodDescriptor, extension: object | None) -> str | None:
    """Return the name of the method's declared access policy, if the option is present."""
    if extension is None:
        return None
    options = method.GetOptions()
    try:
        if not options.HasExtension(extension):  # type: ignore[arg-type]
            return None
        number: int = options.Extensions[extension]  # type: ignore[index]
    except KeyError:
        return None
    enum = getattr(extension, "enum_type", None)
    if enum is not None and number in enum.values_by_number:
        return str(enum.values_by_number[number].name)
    return str(number)


class _Paths:
    """Turn a binding's template into an OpenAPI path and its path parameters."""

    def __init__(self, binding: Binding, schemas: Schemas) -> None:
        self.binding, self.schemas = binding, schemas
        self.parameters: list[dict[str, Any]] = []
        self.names: set[str] = set()

    def _param(self, base: str, schema: dict[str, Any], description: str) -> str:
        name, suffix = base, 2
        while name in self.names:
            name, suffix = f"{base}{suffix}", suffix + 1
        self.names.add(name)
        self.parameters.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": schema,
                "description": description,
            }
        )
        return "{" + name + "}"

    def _variable(self, variable: Variable) -> str:
        fields = resolve_field(self.binding.method, variable.field_path)
        what = f"Part of `{_camel_path(fields)}`"
        comment = self.schemas.comments.get(fields[-1].full_name, "")
        if variable.segments == ("*",):
            schema = dict(scalar_schema(fields[-1]))
            if schema.get("type") == "string" and "pattern" not in schema:
                schema["pattern"] = "^[^/]+$"
            # Named as in the template (JSON names, as protoc-gen-openapiv2 writes them), so
            # clients generated from this document match those generated for grpc-gateway.
            name = _camel_path(fields)
            return self._param(name, schema, comment or f"The `{name}` field.")
        out, previous = [], fields[-1].json_name
        for part in variable.segments:
            if part == "*":
                description = f"{what}: the id after `{previous}/`. {comment}".strip()
                pattern = {"type": "string", "pattern": "^[^/]+$"}
                out.append(self._param(f"{previous}Id", pattern, description))
            elif part == "**":
                description = f"{what}: the rest of the path; may contain '/'. {comment}".strip()
                out.append(self._param(f"{previous}Path", {"type": "string"}, description))
            else:
                out.append(part)
                previous = part
        return "/".join(out)

    def build(self) -> str:
        """Return the OpenAPI path, e.g. /v1/projects/{projectsId}:undelete."""
        parts: list[str] = []
        for segment in self.binding.template.segments:
            if isinstance(segment, Variable):
                parts.append(self._variable(segment))
            else:
                parts.append(segment)
        verb = f":{self.binding.template.verb}" if self.binding.template.verb else ""
        return "/" + "/".join(parts) + verb


def _query_parameters(binding: Binding, schemas: Schemas, bound: set[str]) -> list[dict[str, Any]]:
    if binding.body == "*":
        return []
    found: list[dict[str, Any]] = []

    def walk(message: Descriptor, prefix: list[FieldDescriptor], seen: tuple[str, ...]) -> None:
        for field in message.fields:
            path = [*prefix, field]
            proto = ".".join(f.name for f in path)
            if proto in bound:
                continue
            target = field.message_type
            repeated = field.is_repeated
            described = schemas.comments.get(field.full_name, "")
            name = _camel_path(path)
            if target is not None and target.GetOptions().map_entry:
                value = target.fields_by_name["value"]
                if value.message_type is None:
                    schema = {"type": "object", "additionalProperties": scalar_schema(value)}
                    found.append(_query(name, schema, described, style="deepObject"))
                continue
            if target is not None and target.full_name not in STRING_FORMS:
                if target.full_name.startswith("google.protobuf.") or repeated:
                    if target.full_name in WRAPPERS and not repeated:
                        found.append(_query(name, schemas.message_ref(target), described))
                    continue
                if target.full_name not in seen and len(path) < MAX_QUERY_DEPTH:
                    walk(target, path, (*seen, target.full_name))
                continue
            one = schemas.message_ref(target) if target is not None else scalar_schema(field)
            schema = {"type": "array", "items": one} if repeated else one
            found.append(_query(name, schema, described))

    walk(binding.method.input_type, [], (binding.method.input_type.full_name,))
    return found


def _query(
    name: str, schema: dict[str, Any], description: str, style: str = "form"
) -> dict[str, Any]:
    parameter = {"name": name, "in": "query", "required": False, "schema": schema}
    if style != "form":
        parameter["style"] = style
    parameter["explode"] = True
    if description:
        parameter["description"] = description
    return parameter


def _whole_field(schemas: Schemas, field: FieldDescriptor) -> dict[str, Any]:
    """Return the schema of a field that is the whole body: a message is never null there."""
    if field.message_type is not None and not field.is_repeated:
        return schemas.describe(dict(schemas.message_ref(field.message_type)), field.full_name)
    return schemas.field_schema(field)


def _request_body(binding: Binding, schemas: Schemas, bound: set[str]) -> dict[str, Any] | None:
    if not binding.body or binding.client_streaming:
        return None
    if binding.body == "*":
        top_level = {path for path in bound if "." not in path}
        schema = schemas.object_schema(binding.method.input_type, top_level)
    else:
        schema = _whole_field(schemas, resolve_field(binding.method, binding.body)[-1])
    return {"required": False, "content": {"application/json": {"schema": schema}}}


def _response(binding: Binding, schemas: Schemas) -> dict[str, Any]:
    output = binding.method.output_type
    if binding.response_body:
        schema = _whole_field(schemas, output.fields_by_name[binding.response_body])
    else:
        schema = schemas.message_ref(output)
    if is_http_body(binding):
        # A google.api.HttpBody is sent as its bytes, with its own content type.
        raw = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
        return {"description": "Raw bytes in the answer's own content type.", "content": raw}
    if not binding.server_streaming:
        return {"description": "OK", "content": {"application/json": {"schema": schema}}}
    line = {
        "type": "object",
        "properties": {
            "result": schema,
            "error": {"$ref": "#/components/schemas/google.rpc.Status"},
        },
    }
    return {
        "description": "A stream: one JSON object per line, or Server-Sent Events on request.",
        "content": {
            "application/json": {"schema": line},
            "text/event-stream": {"schema": {"type": "string"}},
        },
    }


def operation(
    binding: Binding, schemas: Schemas, config: GatewayConfig
) -> tuple[str, dict[str, Any]]:
    """Return the OpenAPI path and operation object of one binding."""
    method = binding.method
    paths = _Paths(binding, schemas)
    path = paths.build()
    bound = bound_paths(binding)
    comment = schemas.comments.get(method.full_name, "")
    op: dict[str, Any] = {
        "operationId": f"{method.containing_service.name}_{method.name}"
        + (f"_{binding.index}" if binding.index else ""),
        "tags": [method.containing_service.name],
        "summary": comment.split(". ")[0].rstrip(".") if comment else method.name,
        "parameters": paths.parameters + _query_parameters(binding, schemas, bound),
        "responses": {
            "200": _response(binding, schemas),
            "default": {
                "description": "An error: a google.rpc.Status.",
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/google.rpc.Status"}
                    }
                },
            },
        },
    }
    if comment:
        op["description"] = comment
    body = _request_body(binding, schemas, bound)
    if body is not None:
        op["requestBody"] = body
    access = access_of(method, config.access_extension)
    if access is not None:
        op["x-access"] = access
        op["security"] = [] if access == PUBLIC_ACCESS else [{BEARER: []}]
    return path, op


_PARAMETER = re.compile(r"\{([^}]+)\}")


def _same_shape(path: str, op: dict[str, Any], shapes: dict[str, str]) -> str:
    """Return the path first given for this shape, renaming the operation's path parameters.

    OpenAPI forbids two templated paths that differ only in parameter names; a binding that
    would add one (`{bookId}` beside `{booksId}`) takes the first one's names.
    """
    shape = _PARAMETER.sub("{}", path)
    first = shapes.setdefault(shape, path)
    if first == path:
        return path
    renames = dict(zip(_PARAMETER.findall(path), _PARAMETER.findall(first), strict=True))
    for parameter in op["parameters"]:
        if parameter["in"] == "path":
            parameter["name"] = renames.get(parameter["name"], parameter["name"])
    return first


def build_openapi(
    bindings: Iterable[Binding], config: GatewayConfig, comments: dict[str, str]
) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of every binding."""
    schemas = Schemas(comments)
    schemas.message_ref(status_pb2.Status.DESCRIPTOR)
    paths: dict[str, dict[str, Any]] = {}
    tags: dict[str, dict[str, Any]] = {}
    shapes: dict[str, str] = {}
    for binding in bindings:
        path, op = operation(binding, schemas, config)
        path = _same_shape(path, op, shapes)
        paths.setdefault(path, {})[binding.http_method.lower()] = op
        service = binding.method.containing_service
        tags.setdefault(service.name, schemas.describe({"name": service.name}, service.full_name))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": config.title,
            "version": config.version,
            "description": config.description,
        },
        "tags": list(tags.values()),
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": {
                BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
