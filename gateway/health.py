"""/healthz and /readyz, answered by the backend's grpc.health.v1 service."""

from __future__ import annotations

import asyncio
import json

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.asgi import JSON, Send, send_bytes
from gateway.core import Core

CHECK_TIMEOUT_SECONDS = 2.0
_NAMES = {value: name for name, value in health_pb2.HealthCheckResponse.ServingStatus.items()}


async def check(core: Core, service: str, channel: grpc.aio.Channel | None = None) -> str:
    """Return the backend's serving status of one service ("" is the server as a whole)."""
    upstream = core.upstream_or_fail()
    stub = health_pb2_grpc.HealthStub(channel or upstream.channel(service))
    try:
        reply = await stub.Check(
            health_pb2.HealthCheckRequest(service=service), timeout=CHECK_TIMEOUT_SECONDS
        )
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return "SERVICE_UNKNOWN"
        return f"UNREACHABLE ({error.code().name})"
    return str(_NAMES.get(reply.status, "UNKNOWN"))


async def check_servers(core: Core) -> str:
    """Return the status of the backend servers as a whole: the first one not SERVING, if any."""
    upstream = core.upstream_or_fail()
    statuses = await asyncio.gather(*(check(core, "", pool[0]) for pool in upstream.pools.values()))
    return next((status for status in statuses if status != "SERVING"), "SERVING")


async def healthz(core: Core, send: Send) -> None:
    """Answer 200 when every backend reports itself SERVING, else 503."""
    status = await check_servers(core)
    code = 200 if status == "SERVING" else 503
    await send_bytes(send, code, json.dumps({"status": status}).encode(), JSON)


async def readyz(core: Core, send: Send) -> None:
    """Answer 200 when every exposed service is SERVING and the gateway is not draining."""
    names = [service.full_name for service in core.services]
    overall, *statuses = await asyncio.gather(check_servers(core), *(check(core, n) for n in names))
    # A backend that registers only the overall status still answers for its services.
    by_service = {
        name: overall if status == "SERVICE_UNKNOWN" else status
        for name, status in zip(names, statuses, strict=True)
    }
    ready = (
        not core.draining.is_set()
        and overall == "SERVING"
        and all(status == "SERVING" for status in by_service.values())
    )
    body = {
        "status": "SERVING" if ready else "NOT_SERVING",
        "draining": core.draining.is_set(),
        "backend": overall,
        "services": by_service,
    }
    await send_bytes(send, 200 if ready else 503, json.dumps(body).encode(), JSON)
