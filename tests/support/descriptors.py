"""Walk the filmstudio.v1 descriptors, so tests cover every RPC without a hand list."""

from __future__ import annotations

from typing import Any, cast

from filmstudio.v1 import options_pb2
from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import MethodDescriptor

from services.common.access import service_descriptor
from services.common.registry import SERVICES


def all_methods() -> list[MethodDescriptor]:
    """Return every RPC of every FilmStudio service."""
    return [
        method
        for spec in SERVICES.values()
        for method in service_descriptor(spec.full_name).methods
    ]


def access_of(method: MethodDescriptor) -> int:
    """Return the declared access policy of an RPC."""
    return int(method.GetOptions().Extensions[cast(Any, options_pb2.access)])


def http_rule_of(method: MethodDescriptor) -> http_pb2.HttpRule | None:
    """Return the google.api.http rule of an RPC, or None."""
    options = method.GetOptions()
    extension = cast(Any, annotations_pb2.http)
    if not options.HasExtension(extension):
        return None
    return cast(http_pb2.HttpRule, options.Extensions[extension])
