"""How the jobs domain plugs into the studio: its service, queue, events and workers."""

from __future__ import annotations

import argparse

from filmstudio.v1 import ai_job_pb2_grpc

from services.ai_job import cli, models, stage_cli
from services.ai_job.ai_job_service import AIJobService
from services.ai_job.credits_client import GrpcCreditsClient
from services.ai_job.events import event_bus_from_settings
from services.ai_job.queue import InProcessQueue, RQQueue
from services.ai_job.servicer import AIJobServicer
from services.ai_job.worker import Worker
from services.common import metrics
from services.common.app import App
from services.common.dependencies import internal_channel
from services.common.registry import Domain, ServiceSpec
from services.common.storage_setup import storage_from_settings
from services.common.tokens import ServiceToken
from services.project.project_service import ProjectService


def _job_service(app: App) -> AIJobService:
    settings = app.settings
    queue: InProcessQueue | RQQueue = (
        RQQueue(settings.redis_url, settings.queue_prefix)
        if settings.redis_url
        else InProcessQueue()
    )
    # Holds are placed with request ids, captures and releases are no-ops the second time:
    # every credits call the jobs service makes may be retried.
    channel = internal_channel(
        settings.credits_service_address or settings.grpc_target,
        idempotent_services=["filmstudio.v1.CreditsService"],
    )
    app.on_close(lambda: channel.close(None))
    service = AIJobService(
        app.database,
        queue,
        settings=settings,
        projects=app.get(ProjectService),
        credits=GrpcCreditsClient(channel, ServiceToken(app.tokens, "jobs")),
        events=event_bus_from_settings(
            settings.redis_url, settings.queue_prefix, settings.event_stream_maxlen
        ),
        page_secret=app.tokens.derived_key("job-page-tokens"),
    )

    unwatch = metrics.QUEUE_DEPTH.watch(queue.counts)  # filmstudio_queue_depth

    async def close() -> None:
        unwatch()
        await service.queue.close()
        await service.events.close()

    app.on_close(close)
    return service


def _start(app: App) -> None:
    """Recover jobs of dead workers, and run in-process workers when there is no Redis queue."""
    if not app.built(AIJobService):
        return  # this process does not serve jobs
    jobs = app.get(AIJobService)
    app.every(app.settings.reaper_interval_seconds, jobs.recover)
    if isinstance(jobs.queue, InProcessQueue) and app.settings.worker_concurrency:
        worker = Worker(app.settings, storage_from_settings(app.settings))
        queue = jobs.queue

        async def stop_workers() -> None:
            await queue.close()  # running attempts end before the worker's channel closes
            await worker.close()

        app.on_close(stop_workers)
        queue.start(worker.run, app.settings.worker_concurrency)


def _commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cli.register(commands)
    stage_cli.register(commands)


DOMAIN = Domain(
    key="jobs",
    services=(
        ServiceSpec(
            "jobs",
            "filmstudio.v1.AIJobService",
            ai_job_pb2_grpc.AIJobServiceServicer,
            ai_job_pb2_grpc.add_AIJobServiceServicer_to_server,
            lambda app: AIJobServicer(
                app.get(AIJobService), storage_from_settings(app.settings).url
            ),
        ),
    ),
    models=models,
    providers={AIJobService: _job_service},
    commands=_commands,
    start=_start,
)
