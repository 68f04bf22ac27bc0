"""What a domain plugs into the studio: its gRPC services, tables, providers and commands.

The runtime knows this shape and no domain; each domain exports one `Domain` from its
`wiring.py`, and the composition root (services/bootstrap.py) lists them.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from services.common import errors
from services.common.access import service_descriptor
from services.common.app import App, Provider
from services.common.auth import SessionCheck


@dataclass(frozen=True)
class ServiceSpec:
    """One gRPC service: its proto name, generated hooks, and who builds its servicer."""

    key: str
    full_name: str
    servicer_base: type
    add_to_server: Callable[[Any, Any], None]
    # Returns the servicer for an App; None until the domain lands (every RPC: UNIMPLEMENTED).
    builder: Callable[[App], object] | None = None

    def build(self, app: App) -> object:
        """Return the domain's servicer, or one that answers UNIMPLEMENTED for every RPC."""
        if self.builder is None:
            return unimplemented_servicer(self.servicer_base, self.full_name)
        return self.builder(app)


@dataclass(frozen=True)
class Domain:
    """One domain's contribution to the composition root."""

    key: str
    services: tuple[ServiceSpec, ...] = ()
    # Imported for its side effect of adding the domain's tables to Base.metadata.
    models: ModuleType | None = None
    # How the app builds the domain's facades (and other shared objects), by type.
    providers: Mapping[type, Provider] = field(default_factory=dict)
    # Adds the domain's `filmstudio` subcommands; each sets `handler(args, settings) -> int`.
    commands: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None] | None = None
    # Starts the domain's periodic work in the process that runs it (after the server starts).
    start: Callable[[App], None] | None = None
    # The live-session check every serving process consults for user tokens.
    session_check: Callable[[App], SessionCheck] | None = None


def _unimplemented(method: str, server_streaming: bool) -> Callable[..., Any]:
    """Build an async handler that answers UNIMPLEMENTED, honestly, for one RPC."""
    message = f"{method} is not implemented yet"

    if server_streaming:

        async def stream(self: object, request: object, context: object) -> AsyncIterator[Any]:
            raise errors.Unimplemented(message, metadata={"method": method})
            yield  # makes this an async generator, as streaming handlers are

        return stream

    async def unary(self: object, request: object, context: object) -> Any:
        raise errors.Unimplemented(message, metadata={"method": method})

    return unary


def unimplemented_servicer(base: type, full_name: str) -> object:
    """Return a servicer whose every RPC answers UNIMPLEMENTED with an ErrorInfo."""
    service = service_descriptor(full_name)
    handlers = {
        method.name: _unimplemented(method.full_name, method.server_streaming)
        for method in service.methods
    }
    return type(f"Unimplemented{base.__name__}", (base,), handlers)()
