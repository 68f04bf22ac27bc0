"""The FilmStudio gateway: our services, their access option, WatchJob resume, our protos.

The binding of the generic gateway to FilmStudio; with gateway/cli.py, the only gateway module
that may import `services`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import pkgutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import filmstudio.v1
from filmstudio.v1 import options_pb2

from gateway.config import GatewayConfig, ResumeRule
from gateway.routes import target_for
from gateway.server import GatewayServer, serve_until_signalled
from services.common.config import Settings

PACKAGE = "filmstudio.v1"
# The .proto sources, for the comments in /openapi.json (present in a source checkout).
PROTOS = Path(__file__).resolve().parent.parent / "protos"
RESUME = {
    "filmstudio.v1.AIJobService.WatchJob": ResumeRule("after_event_id", "event.id"),
}
DESCRIPTION = (
    "The REST face of FilmStudio's gRPC services, transcoded as grpc-gateway does. "
    "Job progress streams from GET /v1/jobs/{jobsId}:watch."
)


def filmstudio_services() -> tuple[str, ...]:
    """Return the full name of every service in the generated filmstudio.v1 protos."""
    # Read from the contracts, not the studio's service table: a new .proto needs no edit here.
    names: list[str] = []
    for found in pkgutil.iter_modules(filmstudio.v1.__path__, f"{PACKAGE}."):
        if not found.name.endswith("_pb2"):
            continue
        file = importlib.import_module(found.name).DESCRIPTOR
        if file.package == PACKAGE:
            names.extend(service.full_name for service in file.services_by_name.values())
    return tuple(names)


def filmstudio_config(
    settings: Settings, backend: str, routes: Mapping[str, str] | None = None, **overrides: Any
) -> GatewayConfig:
    """Return the gateway configuration for FilmStudio's services behind `backend`.

    `routes` puts services at backends of their own (full service name -> target).
    """
    routes = dict(routes or {})
    config = GatewayConfig(
        backend=backend,
        routes=routes,
        services=filmstudio_services(),
        proto_paths=(PROTOS,) if PROTOS.is_dir() else (),
        max_message_bytes=settings.grpc_max_message_bytes,
        request_limit_extension=options_pb2.max_request_bytes,
        default_request_bytes=settings.grpc_max_request_bytes,
        trusted_proxies=tuple(settings.trusted_proxies.split(",")),
        upstream_client=settings.gateway_upstream_client,
        strict_input=settings.gateway_strict_input,
        direct_lane=settings.gateway_direct_lane,
        metrics=settings.gateway_metrics,
        resume=RESUME,
        title="FilmStudio API",
        version="v1",
        description=DESCRIPTION,
        access_extension=options_pb2.access,
        extensions=(lambda gateway: add_filmstudio_routes(gateway, backend, settings, routes),),
    )
    return dataclasses.replace(config, **overrides)


def add_filmstudio_routes(
    gateway: Any,
    backend: str,
    settings: Settings | None = None,
    routes: Mapping[str, str] | None = None,
) -> None:
    """Add FilmStudio's raw-body routes (the payment webhook) and, with settings, the web page."""
    from gateway.webhooks import PAYMENT_WEBHOOK, PaymentWebhook

    routes = dict(routes or {})
    credits = target_for(f"{PACKAGE}.CreditsService", backend, routes)
    gateway.raw_routes[PAYMENT_WEBHOOK] = PaymentWebhook(credits)
    if settings is not None:
        from gateway.studio_web.install import add_web_app

        youtube_callback = urlsplit(settings.youtube_redirect_uri).path
        add_web_app(gateway, backend, web_settings(settings), youtube_callback, routes)


def web_settings(settings: Settings) -> dict[str, Any]:
    """Return what the web page is told: prices (to show before a job starts) and sign-ins."""
    from services.ai_job.pricing import DEFAULT_COSTS, RESOLUTION_FACTOR

    return {
        "prices": {**DEFAULT_COSTS, **settings.job_costs},
        "resolutionFactor": RESOLUTION_FACTOR,
        "youtube": bool(settings.youtube_client_id),
        "oauth": [
            name
            for name, client in (
                ("google", settings.google_client_id),
                ("github", settings.github_client_id),
            )
            if client
        ],
    }


async def serve_gateway(
    settings: Settings,
    backend: str,
    stop: asyncio.Event | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    **overrides: Any,
) -> None:
    """Serve the FilmStudio gateway until `stop` is set (or SIGTERM/SIGINT when it is None)."""
    server = GatewayServer(
        filmstudio_config(settings, backend, **overrides),
        host=host or settings.gateway_host,
        port=settings.gateway_port if port is None else port,
        grace_seconds=settings.shutdown_grace_seconds,
    )
    await serve_until_signalled(server, stop)
