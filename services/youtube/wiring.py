"""How the YouTube domain plugs into the studio: its service, tables, and the upload job type."""

from __future__ import annotations

from filmstudio.v1 import youtube_pb2_grpc

from services.ai_job import runners
from services.ai_job.ai_job_service import AIJobService
from services.common.app import App
from services.common.registry import Domain, ServiceSpec
from services.project.project_service import ProjectService
from services.youtube import cli, models
from services.youtube.servicer import YouTubeServicer
from services.youtube.uploader import upload_stage
from services.youtube.uploads import JOB_TYPE
from services.youtube.youtube_service import YouTubeService

# Workers of every process that imports the studio's domains can run uploads.
runners.plug(JOB_TYPE, upload_stage)


def _youtube_service(app: App) -> YouTubeService:
    return YouTubeService(
        app.database,
        app.settings,
        projects=app.get(ProjectService),
        jobs=app.get(AIJobService),
        cipher=cli.cipher_for(app.settings, app.tokens),
    )


DOMAIN = Domain(
    key="youtube",
    services=(
        ServiceSpec(
            "youtube",
            "filmstudio.v1.YouTubeService",
            youtube_pb2_grpc.YouTubeServiceServicer,
            youtube_pb2_grpc.add_YouTubeServiceServicer_to_server,
            lambda app: YouTubeServicer(app.get(YouTubeService)),
        ),
    ),
    models=models,
    providers={YouTubeService: _youtube_service},
    commands=cli.register,
)
