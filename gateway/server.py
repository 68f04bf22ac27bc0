"""Run the gateway on uvicorn (httptools, uvloop-friendly) beside or apart from the gRPC server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator

import uvicorn

from gateway.app import Gateway, build_app
from gateway.config import GatewayConfig
from gateway.http1 import Http1Protocol, with_lane
from gateway.lane import DirectLane

log = logging.getLogger(__name__)


class _Uvicorn(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its owner."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Install nothing: the process that embeds the gateway decides when it stops."""
        yield


class GatewayServer:
    """The gateway on uvicorn, started and stopped from a running event loop."""

    def __init__(
        self,
        config: GatewayConfig,
        host: str = "127.0.0.1",
        port: int = 8080,
        grace_seconds: float = 10.0,
        *,
        reuse_port: bool = False,
    ) -> None:
        self.gateway = Gateway(config)
        self._address, self._reuse_port = (host, port), reuse_port
        self.grace_seconds = grace_seconds
        app = build_app(self.gateway)
        # httptools, with one write per response and trailers where TE: trailers asks; unary
        # GETs on the direct lane (gateway/lane.py) unless the configuration turns it off.
        protocol = with_lane(DirectLane(self.gateway, app)) if config.direct_lane else Http1Protocol
        self._server = _Uvicorn(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                http=protocol,
                ws="websockets-sansio",
                lifespan="on",
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=max(int(grace_seconds), 1),
                server_header=False,
                # The gateway appends the peer to X-Forwarded-For itself; keep the real peer.
                proxy_headers=False,
            )
        )
        self._task: asyncio.Task[None] | None = None
        self.port: int | None = None

    async def start(self) -> int:
        """Start serving and return the bound port."""
        # The gateway binds its socket itself: a taken port is a clear OSError here, where
        # uvicorn would exit the whole process. Copies of the gateway share the port
        # (reuse_port); the kernel spreads connections over them.
        host, port = self._address
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            listener = socket.create_server(
                self._address, family=family, reuse_port=self._reuse_port, backlog=2048
            )
        except OSError as error:
            raise OSError(
                f"the gateway cannot listen on {host}:{port}: {error.strerror or error}; "
                "is the port in use?"
            ) from None
        self._task = asyncio.create_task(self._server.serve(sockets=[listener]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise OSError("the gateway stopped during start-up")
            await asyncio.sleep(0.01)
        sockets = [s for server in self._server.servers for s in server.sockets]
        self.port = int(sockets[0].getsockname()[1])
        log.info(
            "gateway listening", extra={"port": self.port, "backend": self.gateway.config.backend}
        )
        return self.port

    async def stop(self) -> None:
        """Drain: end streams (clients may resume elsewhere), finish requests, close channels."""
        self.gateway.core.draining.set()
        self._server.should_exit = True
        if self._task is not None:
            await self._task
        log.info("gateway stopped")


async def serve_until_signalled(server: GatewayServer, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set, or until SIGTERM or SIGINT when no event is given."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    await server.start()
    try:
        await stop.wait()
    finally:
        await server.stop()
