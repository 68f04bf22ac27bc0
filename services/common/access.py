"""Access policies read from the `(filmstudio.v1.access)` method option of the descriptors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from filmstudio.v1 import options_pb2
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor


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
