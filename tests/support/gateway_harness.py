"""Start a gateway (uvicorn on a free port) in front of a backend, inside the test's loop."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from filmstudio.v1 import options_pb2

from gateway.config import GatewayConfig, ResumeRule
from gateway.server import GatewayServer
from tests.support.gateway_backend import PROBE_SERVICE, ROOT, SHELF_SERVICE, TEST_PROTOS

ORIGIN = "https://app.example"
# CI runs the gateway's tests once more with grpcio as the upstream client (.ci/run); tests
# that name a client (the `both` fixture) keep theirs.
UPSTREAM_CLIENT: Any = os.environ.get("GATEWAY_TEST_UPSTREAM_CLIENT", "h2c")


def gateway_test_config(backend: str, **changes: Any) -> GatewayConfig:
    """Return the configuration the gateway tests run with."""
    config = GatewayConfig(
        backend=backend,
        services=(SHELF_SERVICE, PROBE_SERVICE),
        proto_paths=(TEST_PROTOS, ROOT / "protos"),
        cors_origins=(ORIGIN,),
        max_body_bytes=64 * 1024,
        default_timeout_seconds=5.0,
        gzip_min_bytes=256,
        sse_keepalive_seconds=0.2,
        first_message_wait_seconds=0.3,
        resume={f"{SHELF_SERVICE}.WatchShelf": ResumeRule("after_event_id", "event.id")},
        title="Gateway test API",
        access_extension=options_pb2.access,
        upstream_client=UPSTREAM_CLIENT,
    )
    return dataclasses.replace(config, **changes)


@asynccontextmanager
async def running_gateway(config: GatewayConfig) -> AsyncIterator[GatewayServer]:
    """Serve the gateway on 127.0.0.1 at a free port until the block ends."""
    server = GatewayServer(config, host="127.0.0.1", port=0, grace_seconds=1)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
