"""The gRPC server: any subset of the services, with health, reflection and graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer as AioReflectionServicer

from services.common.access import policy_table, rate_class_table
from services.common.addresses import TrustedProxies
from services.common.app import App
from services.common.drain import CallStarts
from services.common.interceptors import CallInterceptor
from services.common.limits import RequestGuard
from services.common.loop import freeze_startup_heap
from services.common.rate_limits import RateLimiter
from services.common.reflection import MethodAwarePool
from services.common.registry import ServiceSpec

log = logging.getLogger(__name__)

OVERALL = ""
MAX_METADATA_BYTES = 64 * 1024


class GenericHandlersOnly:
    """The server as generated `add_*_to_server` code sees it, minus registered methods.

    grpc.aio's serving loop keeps one pending call request per registered method and waits on
    all of them (`asyncio.wait`) for every call it picks up, so each call pays for every method
    the process hosts: with 70 registered methods a hello-world server answered 20-35% fewer
    calls (h2load, same run). Generic handlers find the method by a dict lookup instead.
    """

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(
        self, handlers: Sequence[grpc.GenericRpcHandler[Any, Any]]
    ) -> None:
        """Hand the service's handlers to the server."""
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        """Ignore: the generic handlers passed the same methods already."""


class StudioServer:
    """A grpc.aio server hosting the chosen services for one App."""

    def __init__(self, app: App, specs: Sequence[ServiceSpec]) -> None:
        self.app = app
        self.specs = list(specs)
        self.health = HealthServicer()
        self.port: int | None = None
        self.unix_socket: str | None = None
        names = [spec.full_name for spec in self.specs]
        settings = app.settings
        # Each RPC's request limit comes from the contract; the transport drops anything over
        # the largest before it is buffered whole, the guard checks each method's own.
        guard = RequestGuard(names, settings.grpc_max_request_bytes)
        self._starts = CallStarts()
        limiter = RateLimiter.from_settings(settings, rate_class_table(names))
        if limiter is not None:
            app.on_close(limiter.close)
        self._server = grpc.aio.server(
            interceptors=[
                CallInterceptor(
                    policy_table(names),
                    app.authenticator,
                    TrustedProxies(settings.trusted_proxies),
                    guard,
                    limiter=limiter,
                    starts=self._starts,
                ),
            ],
            options=[
                (
                    "grpc.max_receive_message_length",
                    min(guard.largest, settings.grpc_max_message_bytes),
                ),
                ("grpc.max_send_message_length", settings.grpc_max_message_bytes),
                # Only copies of one server (`serve --processes N`) share a port; a lone server
                # on a taken port must fail to start rather than quietly split the traffic.
                ("grpc.so_reuseport", int(settings.grpc_processes > 1)),
                # Past gRPC's 8 KB soft limit calls fail at random with RESOURCE_EXHAUSTED and
                # internal sizes; one firm limit lets the interceptor refuse an oversized token.
                ("grpc.max_metadata_size", MAX_METADATA_BYTES),
                ("grpc.absolute_max_metadata_size", MAX_METADATA_BYTES),
                # BDP probing grows a stream's window to megabytes, so a hostile client pushes
                # that much per call before an oversized message is refused (100 8 MB logins:
                # +200 MB); a fixed window keeps each call's buffer small.
                ("grpc.http2.bdp_probe", 0),
                ("grpc.http2.lookahead_bytes", 256 * 1024),
                ("grpc.keepalive_time_ms", 30_000),
                ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ],
        )
        handlers = GenericHandlersOnly(self._server)
        for spec in self.specs:
            spec.add_to_server(spec.build(app), handlers)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, handlers)
        if settings.grpc_reflection:
            names_served = [
                *names,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ]
            # What enable_server_reflection does for an aio server, through `handlers`.
            reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
                AioReflectionServicer(
                    names_served,
                    pool=cast(Any, MethodAwarePool()),  # duck-typed: reflection calls only Find*
                ),
                handlers,
            )

    async def start(self, address: str | None = None) -> int:
        """Bind, start serving, and mark every hosted service SERVING; return the port."""
        address = address or self.app.settings.grpc_address
        try:
            self.port = self._server.add_insecure_port(address)
        except RuntimeError:
            self.port = 0  # grpcio raises where older versions returned 0
        if self.port == 0:
            raise OSError(f"cannot bind the gRPC server to {address}: is the port in use?")
        self._bind_unix_socket()
        await self._server.start()
        for name in (OVERALL, *(spec.full_name for spec in self.specs)):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info(
            "gRPC server listening",
            extra={
                "address": address,
                "port": self.port,
                "unix_socket": self.unix_socket,
                "services": [s.key for s in self.specs],
            },
        )
        return self.port

    def _bind_unix_socket(self) -> None:
        """Also listen on GRPC_UNIX_SOCKET, if set, unless a live server already holds it."""
        path = self.app.settings.grpc_unix_socket
        if not path:
            return
        socket_path = Path(path)
        socket_path.parent.mkdir(parents=True, exist_ok=True)
        if socket_path.exists() or socket_path.is_symlink():
            if not socket_path.is_socket():
                raise OSError(f"GRPC_UNIX_SOCKET {path} exists and is not a socket")
            # gRPC would quietly take the path over from a server still running there.
            if _answers(socket_path):
                raise OSError(f"GRPC_UNIX_SOCKET {path} is served by another process")
            socket_path.unlink()  # left by a server that died
        if self._server.add_insecure_port(f"unix:{path}") == 0:
            raise OSError(f"cannot listen on GRPC_UNIX_SOCKET {path}")
        self.unix_socket = path

    async def stop(self, grace: float | None = None) -> None:
        """Turn health NOT_SERVING first, then let in-flight RPCs finish within `grace`."""
        grace = self.app.settings.shutdown_grace_seconds if grace is None else grace
        deadline = asyncio.get_running_loop().time() + grace
        await self.health.enter_graceful_shutdown()
        log.info("gRPC server draining", extra={"grace_seconds": grace})
        # stop() cancels the calls that arrived but were not picked up yet: serve until no
        # more arrive (within half the grace), then give the running ones the rest of it.
        await self._starts.quiet(grace / 2)
        await self._server.stop(max(0.0, deadline - asyncio.get_running_loop().time()))
        log.info("gRPC server stopped")

    async def wait_for_termination(self) -> None:
        """Block until the server stops."""
        await self._server.wait_for_termination()


def _answers(path: Path) -> bool:
    """Tell whether something accepts connections on a Unix socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(str(path)) == 0


class Companion(Protocol):
    """Something served beside the gRPC server in the same loop (the REST gateway)."""

    async def start(self) -> int:
        """Start serving."""
        ...

    async def stop(self) -> None:
        """Drain and stop."""
        ...


async def serve_until_signalled(
    server: StudioServer,
    address: str | None = None,
    *,
    companions: Sequence[Companion] = (),
    on_started: Callable[[], None] | None = None,
) -> None:
    """Run the server (and its companions) until SIGTERM or SIGINT, then drain gracefully.

    Companions stop first: the gateway drains its clients while the gRPC server still answers.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await server.start(address)
    started: list[Companion] = []
    try:
        for companion in companions:
            await companion.start()
            started.append(companion)
        if on_started is not None:
            on_started()
        # Everything built so far (the app, its mappers and statements) lives as long as the
        # process: out of every later collection (loop.py).
        freeze_startup_heap()
        await stop.wait()
        log.info("shutdown signal received")
    finally:  # also when a companion cannot start: nothing is left half-running
        for companion in started:
            await companion.stop()
        await server.stop()
