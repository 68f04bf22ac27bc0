"""How the project domain plugs into the studio."""

from __future__ import annotations

from filmstudio.v1 import project_pb2_grpc

from services.common.app import App
from services.common.registry import Domain, ServiceSpec
from services.common.storage_setup import storage_from_settings
from services.project import cli, models
from services.project.project_service import ProjectService
from services.project.purge import purge_projects
from services.project.servicer import ProjectServicer

PURGE_INTERVAL_SECONDS = 6 * 3600.0


def _start(app: App) -> None:
    async def purge() -> None:
        await purge_projects(app.get(ProjectService), storage_from_settings(app.settings))

    app.every(PURGE_INTERVAL_SECONDS, purge)


DOMAIN = Domain(
    key="project",
    services=(
        ServiceSpec(
            "project",
            "filmstudio.v1.ProjectService",
            project_pb2_grpc.ProjectServiceServicer,
            project_pb2_grpc.add_ProjectServiceServicer_to_server,
            lambda app: ProjectServicer(
                app.get(ProjectService), storage_from_settings(app.settings).url
            ),
        ),
    ),
    models=models,
    providers={
        ProjectService: lambda app: ProjectService(
            app.database, app.tokens.derived_key("project-page-tokens")
        )
    },
    commands=cli.register,
    start=_start,
)
