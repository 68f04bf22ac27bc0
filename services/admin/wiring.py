"""How the admin domain plugs into the studio: its service, built on the other domains' facades."""

from __future__ import annotations

from filmstudio.v1 import admin_pb2_grpc

from services.admin import cli, models
from services.admin.admin_service import AdminService
from services.admin.servicer import AdminServicer
from services.ai_job.ai_job_service import AIJobService
from services.common.app import App
from services.common.registry import Domain, ServiceSpec
from services.common.storage_setup import storage_from_settings
from services.credits.credits_service import CreditsService
from services.project.project_service import ProjectService
from services.user.user_service import UserService


def _admin_service(app: App) -> AdminService:
    return AdminService(
        app.database,
        users=app.get(UserService),
        projects=app.get(ProjectService),
        credits=app.get(CreditsService),
        jobs=app.get(AIJobService),
        outbox=app.outbox,
        page_secret=app.tokens.derived_key("admin-page-tokens"),
    )


DOMAIN = Domain(
    key="admin",
    services=(
        ServiceSpec(
            "admin",
            "filmstudio.v1.AdminService",
            admin_pb2_grpc.AdminServiceServicer,
            admin_pb2_grpc.add_AdminServiceServicer_to_server,
            lambda app: AdminServicer(
                app.get(AdminService), storage_from_settings(app.settings).url
            ),
        ),
    ),
    models=models,
    providers={AdminService: _admin_service},
    commands=cli.register,
)
