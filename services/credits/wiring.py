"""How the credits domain plugs into the studio."""

from __future__ import annotations

from filmstudio.v1 import credits_pb2_grpc

from services.common.app import App
from services.common.registry import Domain, ServiceSpec
from services.credits import cli, models
from services.credits.credits_service import CreditsService
from services.credits.servicer import CreditsServicer


def _start(app: App) -> None:
    app.every(app.settings.credits_expiry_interval_seconds, app.get(CreditsService).expire_due)


DOMAIN = Domain(
    key="credits",
    services=(
        ServiceSpec(
            "credits",
            "filmstudio.v1.CreditsService",
            credits_pb2_grpc.CreditsServiceServicer,
            credits_pb2_grpc.add_CreditsServiceServicer_to_server,
            lambda app: CreditsServicer(app.get(CreditsService)),
        ),
    ),
    models=models,
    providers={
        CreditsService: lambda app: CreditsService(app.database, app.settings, codec=app.tokens)
    },
    commands=cli.register,
    start=_start,
)
