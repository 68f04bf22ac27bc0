"""The FilmStudio gateway: our services, their access option, WatchJob resume, our protos."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from filmstudio.v1 import options_pb2

from gateway.config import GatewayConfig, ResumeRule
from services.common.config import Settings
from services.common.registry import SERVICES

# The .proto sources, for the comments in /openapi.json (present in a source checkout).
PROTOS = Path(__file__).resolve().parent.parent / "protos"
RESUME = {
    "filmstudio.v1.AIJobService.WatchJob": ResumeRule("after_event_id", "event.id"),
}
DESCRIPTION = (
    "The REST face of FilmStudio's gRPC services, transcoded as grpc-gateway does. "
    "Job progress streams from GET /v1/jobs/{jobsId}:watch."
)


def filmstudio_config(settings: Settings, backend: str, **overrides: Any) -> GatewayConfig:
    """Return the gateway configuration for FilmStudio's services behind `backend`."""
    config = GatewayConfig(
        backend=backend,
        services=tuple(spec.full_name for spec in SERVICES.values()),
        proto_paths=(PROTOS,) if PROTOS.is_dir() else (),
        # Read when Settings grows these knobs; the defaults serve until then.
        cors_origins=tuple(getattr(settings, "gateway_cors_origins", ()) or ()),
        max_message_bytes=settings.grpc_max_message_bytes,
        upstream_client=settings.gateway_upstream_client,
        resume=RESUME,
        title="FilmStudio API",
        version="v1",
        description=DESCRIPTION,
        access_extension=options_pb2.access,
        extensions=(lambda gateway: add_filmstudio_routes(gateway, backend),),
    )
    return dataclasses.replace(config, **overrides)


def add_filmstudio_routes(gateway: Any, backend: str) -> None:
    """Add FilmStudio's raw-body routes (the payment webhook) to a gateway."""
    from gateway.webhooks import PAYMENT_WEBHOOK, PaymentWebhook

    gateway.raw_routes[PAYMENT_WEBHOOK] = PaymentWebhook(backend)
