"""The update mask of a PATCH without one, from the body's fields, as grpc-gateway derives it."""

from __future__ import annotations

from typing import Any

from gateway.jsonpb import FieldError, field_map

# Messages whose JSON keys are data, not fields: their paths follow the JSON as it is.
_DYNAMIC = frozenset({"google.protobuf.Struct", "google.protobuf.Value"})


def _blind(path: str, value: Any) -> list[str]:
    """Return the paths under a Struct or Value, one per JSON leaf (buildPathsBlindly)."""
    if not isinstance(value, dict):
        return [path]
    paths: list[str] = []
    for key, item in value.items():
        paths.extend(_blind(f"{path}.{key}", item))
    return paths


def mask_from_body(value: Any, descriptor: Any) -> list[str]:
    """Return the sorted field paths a JSON body sets in a message (FieldMaskFromRequestBody).

    Nested messages become dotted paths; a repeated field, a map, an Any or a non-object value
    ends its path; Struct and Value keys are followed as they are; an unknown field is an error.
    """
    paths: list[str] = []
    queue: list[tuple[str, Any, Any]] = [("", value, descriptor)]
    while queue:
        path, node, message = queue.pop(0)
        if not isinstance(node, dict) or not node:
            if path:  # a leaf, or an empty object that still names its field
                paths.append(path)
            continue
        for key, item in node.items():
            if message is None:
                raise FieldError(path, "the JSON structure does not match the request type")
            found = field_map(message).get(key)
            if found is None:
                raise FieldError(key, f"could not find field {key!r} in {message.full_name}")
            child = f"{path}.{found.name}" if path else found.name
            target = found.message_type
            if target is not None and target.full_name in _DYNAMIC:
                paths.extend(_blind(child, item))
            elif (
                target is not None
                and target.full_name == "google.protobuf.Any"
                and (not found.is_repeated)
            ):
                if not isinstance(item, dict) or "@type" not in item:
                    raise FieldError(child, f"could not find field @type in {key!r}")
                paths.append(child)
            elif found.is_repeated:  # lists and maps: the path stops at the field
                paths.append(child)
            else:
                queue.append((child, item, target))
    return sorted(paths)
