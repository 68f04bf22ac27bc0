"""Access policies and rate classes read from the method options of the descriptors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from filmstudio.v1 import options_pb2
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor

from services.common import rate_buckets

_RATE_CLASSES = {
    options_pb2.RATE_CLASS_UNSPECIFIED: rate_buckets.WRITE,
    options_pb2.RATE_CLASS_READ: rate_buckets.READ,
    options_pb2.RATE_CLASS_WRITE: rate_buckets.WRITE,
    options_pb2.RATE_CLASS_EXPENSIVE: rate_buckets.EXPENSIVE,
    options_pb2.RATE_CLASS_AUTH: rate_buckets.AUTH,
}


class MissingPolicyError(RuntimeError):
    """A hosted RPC declares no access policy; the server refuses to start."""


def method_path(service: ServiceDescriptor, method_name: str) -> str:
    """Return the gRPC path of a method, "/pkg.Service/Method"."""
    return f"/{service.full_name}/{method_name}"


def service_descriptor(full_name: str) -> ServiceDescriptor:
    """Look a service up in the default descriptor pool."""
    return descriptor_pool.Default().FindServiceByName(full_name)


def policy_table(service_names: Iterable[str]) -> dict[str, int]:
    """Map every method path of the services to its access policy; fail on a missing one."""
    table: dict[str, int] = {}
    missing: list[str] = []
    for name in service_names:
        service = service_descriptor(name)
        for method in service.methods:
            access: int = method.GetOptions().Extensions[cast(Any, options_pb2.access)]
            if access == options_pb2.ACCESS_UNSPECIFIED:
                missing.append(method.full_name)
            table[method_path(service, method.name)] = access
    if missing:
        raise MissingPolicyError(f"RPCs without an access policy: {', '.join(missing)}")
    return table


def rate_class_table(service_names: Iterable[str]) -> dict[str, str | None]:
    """Map every method path of the services to its rate class (None: never limited).

    An RPC that declares no class is limited as a write; only internal RPCs leave it out.
    """
    table: dict[str, str | None] = {}
    for name in service_names:
        service = service_descriptor(name)
        for method in service.methods:
            declared = method.GetOptions().Extensions[cast(Any, options_pb2.rate_class)]
            table[method_path(service, method.name)] = _RATE_CLASSES.get(declared)
    return table
