"""Walk the filmstudio.v1 descriptors, so tests cover every RPC without a hand list."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, cast

import filmstudio.v1
from filmstudio.v1 import options_pb2
from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import MethodDescriptor

from services.bootstrap import SERVICES
from services.common.access import service_descriptor


def contract_services() -> list[str]:
    """Return the full name of every service the filmstudio.v1 contracts declare."""
    names: list[str] = []
    for module in pkgutil.iter_modules(filmstudio.v1.__path__):
        if module.name.endswith("_pb2"):
            file = importlib.import_module(f"filmstudio.v1.{module.name}").DESCRIPTOR
            names += [service.full_name for service in file.services_by_name.values()]
    return sorted(names)


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
