"""The six FilmStudio services: how each is registered, and who builds its servicer."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from filmstudio.v1 import (
    admin_pb2_grpc,
    ai_job_pb2_grpc,
    credits_pb2_grpc,
    project_pb2_grpc,
    user_pb2_grpc,
    youtube_pb2_grpc,
)

from services.common import errors
from services.common.access import service_descriptor

if TYPE_CHECKING:
    from services.common.app import App


@dataclass(frozen=True)
class ServiceSpec:
    """One gRPC service: its proto name, generated hooks, and the module that builds it."""

    key: str
    full_name: str
    servicer_base: type
    add_to_server: Callable[[Any, Any], None]
    # "module:function" returning the servicer for an App; empty until the domain lands.
    builder: str = ""

    def build(self, app: App) -> object:
        """Return the domain's servicer, or one that answers UNIMPLEMENTED for every RPC."""
        if not self.builder:
            return unimplemented_servicer(self.servicer_base, self.full_name)
        module_name, _, function = self.builder.partition(":")
        factory = getattr(importlib.import_module(module_name), function)
        return factory(app)


SERVICES: dict[str, ServiceSpec] = {
    spec.key: spec
    for spec in (
        ServiceSpec(
            "user",
            "filmstudio.v1.UserService",
            user_pb2_grpc.UserServiceServicer,
            user_pb2_grpc.add_UserServiceServicer_to_server,
            "services.user.servicer:build",
        ),
        ServiceSpec(
            "project",
            "filmstudio.v1.ProjectService",
            project_pb2_grpc.ProjectServiceServicer,
            project_pb2_grpc.add_ProjectServiceServicer_to_server,
            "services.project.servicer:build",
        ),
        ServiceSpec(
            "credits",
            "filmstudio.v1.CreditsService",
            credits_pb2_grpc.CreditsServiceServicer,
            credits_pb2_grpc.add_CreditsServiceServicer_to_server,
            "services.credits.servicer:build",
        ),
        ServiceSpec(
            "jobs",
            "filmstudio.v1.AIJobService",
            ai_job_pb2_grpc.AIJobServiceServicer,
            ai_job_pb2_grpc.add_AIJobServiceServicer_to_server,
            "services.ai_job.servicer:build",
        ),
        ServiceSpec(
            "youtube",
            "filmstudio.v1.YouTubeService",
            youtube_pb2_grpc.YouTubeServiceServicer,
            youtube_pb2_grpc.add_YouTubeServiceServicer_to_server,
        ),
        ServiceSpec(
            "admin",
            "filmstudio.v1.AdminService",
            admin_pb2_grpc.AdminServiceServicer,
            admin_pb2_grpc.add_AdminServiceServicer_to_server,
        ),
    )
}


def resolve(keys: str | list[str] | None) -> list[ServiceSpec]:
    """Return the specs named by a comma list or a list of keys ("all" or None: every one)."""
    if keys is None or keys == "all":
        return list(SERVICES.values())
    names = [k.strip() for k in keys.split(",")] if isinstance(keys, str) else keys
    unknown = [name for name in names if name not in SERVICES]
    if unknown or not names:
        raise ValueError(
            f"unknown services {unknown or names}; choose from {', '.join(SERVICES)} or 'all'"
        )
    return [SERVICES[name] for name in dict.fromkeys(names)]


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
