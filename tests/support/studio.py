"""Start a real StudioServer in the test's event loop and talk to it over a real channel."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor

from services.bootstrap import build_app, resolve, start_background
from services.common.config import Settings
from services.common.migrate import migrate
from services.common.registry import ServiceSpec
from services.common.server import StudioServer
from services.user.user_service import UserService

TEST_JWT_SECRET = "test-secret-" + "0123456789abcdef" * 3
TEST_PASSWORD = "correct horse battery staple"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def studio_settings(var_dir: Path, database_url: str | None = None, **extra: Any) -> Settings:
    """Return settings for an in-test server: test environment, a fixed secret, a temp var dir."""
    values: dict[str, Any] = {
        "FILMSTUDIO_ENV": "test",
        "FILMSTUDIO_VAR_DIR": str(var_dir),
        "JWT_SECRET": TEST_JWT_SECRET,
        # A real port, known before start: the server's own clients (workers, the credits
        # client of the job service) dial it.
        "GRPC_PORT": free_port(),
        "SHUTDOWN_GRACE_SECONDS": 5,
        # The cheapest cost bcrypt allows keeps sign-ins fast; one test checks the real default.
        "BCRYPT_ROUNDS": 4,
        **extra,
    }
    if database_url:
        values["DATABASE_URL"] = database_url
    return Settings(**values)


@asynccontextmanager
async def running_studio(
    settings: Settings, specs: Sequence[ServiceSpec] | None = None, *, background: bool = False
) -> AsyncIterator[tuple[StudioServer, grpc.aio.Channel]]:
    """Serve the given services (default: all) on a free port and yield a channel to them.

    With `background`, the app's periodic work (job recovery, in-process workers) runs too.
    """
    app = build_app(settings)
    await migrate(settings.effective_database_url)
    server = StudioServer(app, list(specs) if specs is not None else resolve("all"))
    port = await server.start(settings.grpc_address)
    if background:
        start_background(app)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield server, channel
    finally:
        await channel.close()
        await server.stop(grace=1)
        await app.close()


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    """Return call metadata that carries a bearer token."""
    return (("authorization", f"Bearer {token}"),)


async def call_method(
    channel: grpc.aio.Channel,
    method: MethodDescriptor,
    request: Any = None,
    metadata: Sequence[tuple[str, str]] = (),
    deadline: float = 10,
) -> list[Any]:
    """Call any RPC generically from its descriptor and return the response messages."""
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    request = request if request is not None else request_class()
    path = f"/{method.containing_service.full_name}/{method.name}"
    kwargs: dict[str, Any] = {
        "request_serializer": request_class.SerializeToString,
        "response_deserializer": response_class.FromString,
    }
    if method.client_streaming and method.server_streaming:
        stream = channel.stream_stream(path, **kwargs)(
            iter([request]), metadata=metadata, timeout=deadline
        )
        return [message async for message in stream]
    if method.client_streaming:
        return [
            await channel.stream_unary(path, **kwargs)(
                iter([request]), metadata=metadata, timeout=deadline
            )
        ]
    if method.server_streaming:
        stream = channel.unary_stream(path, **kwargs)(request, metadata=metadata, timeout=deadline)
        return [message async for message in stream]
    return [await channel.unary_unary(path, **kwargs)(request, metadata=metadata, timeout=deadline)]


async def signed_in(server: StudioServer, email: str, role: str = "user") -> str:
    """Register an account through the domain, give it a role, sign in; return the access token."""
    users = server.app.get(UserService)
    await users.register_user(email=email, password=TEST_PASSWORD, first_name="Test")
    if role != "user":
        await users.set_role(email, role)
    return (await users.login(email=email, password=TEST_PASSWORD)).access_token
