"""Server reflection that also resolves method symbols, so `grpcurl describe Svc.Method` works."""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pool
from google.protobuf.descriptor import FileDescriptor


class MethodAwarePool:
    """The default descriptor pool, plus lookups of "pkg.Service.Method" symbols.

    The upb pool that python-protobuf ships finds files by message, enum and service names but
    not by method names, which grpcurl and `buf curl` ask for; this fills that one gap.
    """

    def __init__(self, pool: descriptor_pool.DescriptorPool | None = None) -> None:
        self._pool = pool or descriptor_pool.Default()

    def FindFileContainingSymbol(self, symbol: str) -> FileDescriptor:
        """Return the file defining a symbol, methods included."""
        try:
            return self._pool.FindFileContainingSymbol(symbol)
        except KeyError:
            service_name, _, method_name = symbol.rpartition(".")
            service = self._pool.FindServiceByName(service_name)  # KeyError if not a service
            if method_name not in service.methods_by_name:
                raise
            return service.file

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)
