"""The gateway as one ASGI application: routes built from descriptors, plus docs and health."""

from __future__ import annotations

import json
import logging
from typing import Any, cast

from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from gateway import health, metrics
from gateway.asgi import (
    ASGIApp,
    Receive,
    RequestIdMiddleware,
    Scope,
    Send,
    header,
    send_bytes,
    send_error,
)
from gateway.config import GatewayConfig
from gateway.core import Core
from gateway.descriptors import load_comments, load_services
from gateway.docs import render_docs
from gateway.errors import GatewayError
from gateway.handlers import handle_http
from gateway.openapi import build_openapi
from gateway.routing import Router, bindings_for
from gateway.trailers import asks_for_trailers
from gateway.upstream import Upstream
from gateway.websocket import handle_websocket

log = logging.getLogger(__name__)

_EXPOSED_HEADERS = ["x-request-id", "retry-after"]


class Gateway:
    """An ASGI app that transcodes REST to the gRPC backend; lifespan opens the channels."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        pool, services = load_services(config)
        router = Router(bindings_for(services))
        self.core = Core(config, pool, services, router)
        self._spec: dict[str, Any] | None = None
        self._spec_bytes: bytes | None = None
        self._docs: bytes | None = None
        # Routes that take the request body as it is (signed webhooks), by path.
        self.raw_routes: dict[str, Any] = {}
        # Pages served beside the API (a web app), by exact path; GET and HEAD only.
        self.page_routes: dict[str, Any] = {}
        self._builtin = {**_BUILTIN, **({"/metrics": Gateway._metrics} if config.metrics else {})}
        for extend in config.extensions:
            extend(self)
        log.info(
            "gateway routes built",
            extra={"routes": len(router.bindings), "services": [s.full_name for s in services]},
        )

    @property
    def openapi(self) -> dict[str, Any]:
        """Return the OpenAPI document, built on first use."""
        if self._spec is None:
            comments = load_comments(self.config, self.core.services)
            self._spec = build_openapi(self.core.router.bindings, self.config, comments)
        return self._spec

    async def startup(self) -> None:
        """Open the channel pool."""
        if self.core.upstream is None:
            methods = [binding.method for binding in self.core.router.bindings]
            self.core.upstream = Upstream(
                self.config.backend,
                methods,
                self.config.channels,
                self.config.max_message_bytes,
                client=self.config.upstream_client,
                routes=self.config.routes,
            )

    async def shutdown(self) -> None:
        """Stop new streams and close the channels."""
        self.core.draining.set()
        for route in self.raw_routes.values():
            if hasattr(route, "close"):
                await route.close()
        if self.core.upstream is not None:
            await self.core.upstream.close()
            self.core.upstream = None

    def serves_itself(self, path: str) -> bool:
        """Tell whether a GET of `path` is the gateway's own (docs, health, a page)."""
        return path in self._builtin or path in self.page_routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch lifespan, HTTP and WebSocket scopes."""
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await handle_websocket(self.core, scope, receive, send)
        elif scope["method"] == "GET" and scope["path"] in self._builtin:
            metrics.set_route(scope, scope["path"])
            await self._builtin[scope["path"]](self, send)
        elif scope["method"] in ("GET", "HEAD") and scope["path"] in self.page_routes:
            metrics.set_route(scope, scope["path"])
            await self.page_routes[scope["path"]](scope, receive, send)
        elif scope["method"] == "POST" and scope["path"] in self.raw_routes:
            metrics.set_route(scope, scope["path"])
            try:
                await self.raw_routes[scope["path"]](scope, receive, send)
            except GatewayError as error:
                await send_error(send, error)
        else:
            await handle_http(self.core, scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as error:
                    log.exception("gateway start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _openapi(self, send: Send) -> None:
        if self._spec_bytes is None:
            self._spec_bytes = json.dumps(self.openapi, separators=(",", ":")).encode()
        await send_bytes(send, 200, self._spec_bytes)

    async def _docs_page(self, send: Send) -> None:
        if self._docs is None:
            self._docs = render_docs(self.openapi).encode()
        await send_bytes(send, 200, self._docs, b"text/html; charset=utf-8")

    async def _healthz(self, send: Send) -> None:
        try:
            await health.healthz(self.core, send)
        except GatewayError as error:
            await send_error(send, error)

    async def _readyz(self, send: Send) -> None:
        await health.readyz(self.core, send)

    async def _metrics(self, send: Send) -> None:
        await metrics.send_metrics(send)


_BUILTIN: dict[str, Any] = {
    "/openapi.json": Gateway._openapi,
    "/docs": Gateway._docs_page,
    "/healthz": Gateway._healthz,
    "/readyz": Gateway._readyz,
}


class GzipWhenAccepted:
    """Skip the gzip machinery entirely for clients that do not accept gzip (most API clients)."""

    def __init__(self, plain: ASGIApp, gzipped: ASGIApp) -> None:
        self.plain, self.gzipped = plain, gzipped

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route the request through gzip only when Accept-Encoding names it."""
        # Starlette's gzip drops http.response.trailers: a client that asks for trailers
        # (TE: trailers) gets its answer uncompressed rather than never finished.
        if (
            scope["type"] == "http"
            and b"gzip" in (header(scope, b"accept-encoding") or b"")
            and not asks_for_trailers(scope)
        ):
            await self.gzipped(scope, receive, send)
        else:
            await self.plain(scope, receive, send)


def build_app(gateway: Gateway) -> ASGIApp:
    """Wrap the gateway in its middleware: request ids and metrics outermost, CORS, then gzip."""
    return RequestIdMiddleware(with_middleware(gateway, gateway.config), metrics.finished)


def with_middleware(app: ASGIApp, config: GatewayConfig) -> ASGIApp:
    """Wrap an app in the gateway's middleware within the request id's: CORS, then gzip."""
    wrapped: Any = GzipWhenAccepted(
        app, GZipMiddleware(app, minimum_size=config.gzip_min_bytes, compresslevel=6)
    )
    if config.cors_origins:
        wrapped = CORSMiddleware(
            wrapped,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["*"],
            expose_headers=_EXPOSED_HEADERS,
            allow_credentials="*" not in config.cors_origins,
            max_age=600,
        )
    return cast(ASGIApp, wrapped)
