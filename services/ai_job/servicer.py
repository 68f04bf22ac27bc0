"""The gRPC transport of AIJobService: proto in, domain call, proto out."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

from filmstudio.v1 import ai_job_pb2, ai_job_pb2_grpc
from google.protobuf import json_format

from services.ai_job.ai_job_service import AIJobService
from services.ai_job.convert import (
    event_message,
    job_message,
    parameters_from,
    stats_message,
)
from services.ai_job.events import JobEvent
from services.ai_job.progress_stream import Report, serve_stream
from services.common import errors
from services.common.app import App
from services.common.caller import caller_of
from services.common.context import require_principal
from services.common.convert import resource_id, timestamp
from services.common.db import utcnow
from services.common.enums import JOB_STATUS, JOB_TYPE, enum_name

Context = Any


def _job_id(name: str, field: str = "name") -> int:
    return resource_id(name, "jobs", field)


async def _reports(first: Any, rest: AsyncIterator[Any]) -> AsyncIterator[Report]:
    yield _report(first)
    async for message in rest:
        yield _report(message)


def _report(message: Any) -> Report:
    return Report(
        name=message.name,
        attempt=message.attempt,
        worker=message.worker,
        stage=message.stage,
        progress=message.progress,
        message=message.message,
        eta_seconds=message.eta.ToNanoseconds() / 1e9 if message.HasField("eta") else None,
        heartbeat=message.heartbeat,
    )


@functools.lru_cache(maxsize=4096)
def _watch_response(event: JobEvent) -> Any:
    """Build each event's response once, however many watchers receive it."""
    return ai_job_pb2.WatchJobResponse(event=event_message(event))


class AIJobServicer(ai_job_pb2_grpc.AIJobServiceServicer):
    """AIJobService over gRPC."""

    def __init__(self, service: AIJobService) -> None:
        self.service = service

    async def CreateJob(self, request: Any, context: Context) -> Any:
        caller = caller_of(require_principal())
        if caller.user_id is None and not caller.is_admin:
            raise errors.InvalidArgument.field("job.owner", "a user must create jobs")
        project_id = resource_id(request.job.project, "projects", "job.project")
        job = await self.service.create_job(
            project_id,
            caller.user_id or 0,
            enum_name(JOB_TYPE, request.job.job_type) or "unspecified",
            parameters_from(request.job.parameters),
            request.job.priority or 2,
            request.request_id,
            caller=caller,
        )
        return ai_job_pb2.CreateJobResponse(job=job_message(job))

    async def GetJob(self, request: Any, context: Context) -> Any:
        job = await self.service.get_job(_job_id(request.name), caller_of(require_principal()))
        return ai_job_pb2.GetJobResponse(job=job_message(job))

    async def ListJobs(self, request: Any, context: Context) -> Any:
        caller = caller_of(require_principal())
        if caller.user_id is None:
            raise errors.InvalidArgument.field("owner", "services list jobs through a user")
        project = resource_id(request.project, "projects", "project") if request.project else None
        page = await self.service.get_user_jobs(
            caller.user_id,
            project_id=project,
            status=enum_name(JOB_STATUS, request.status),
            job_type=enum_name(JOB_TYPE, request.job_type),
            limit=request.page_size,
            page_token=request.page_token,
        )
        return ai_job_pb2.ListJobsResponse(
            jobs=[job_message(j) for j in page.jobs], next_page_token=page.next_page_token
        )

    async def UpdateJobStatus(self, request: Any, context: Context) -> Any:
        job = await self.service.update_job_status(
            _job_id(request.name),
            enum_name(JOB_STATUS, request.status) or "unspecified",
            request.attempt,
            worker=request.worker,
            error=request.error,
        )
        return ai_job_pb2.UpdateJobStatusResponse(job=job_message(job))

    async def UpdateJobResult(self, request: Any, context: Context) -> Any:
        job = await self.service.update_job_result(
            _job_id(request.name),
            request.attempt,
            [
                json_format.MessageToDict(a, preserving_proto_field_name=True)
                for a in request.artifacts
            ],
            json_format.MessageToDict(request.result),
        )
        return ai_job_pb2.UpdateJobResultResponse(job=job_message(job))

    async def CancelJob(self, request: Any, context: Context) -> Any:
        job = await self.service.cancel_job(_job_id(request.name), caller_of(require_principal()))
        return ai_job_pb2.CancelJobResponse(job=job_message(job))

    async def RetryJob(self, request: Any, context: Context) -> Any:
        job = await self.service.retry_job(
            _job_id(request.name), caller_of(require_principal()), request.request_id
        )
        return ai_job_pb2.RetryJobResponse(job=job_message(job))

    async def GetQueueStats(self, request: Any, context: Context) -> Any:
        window = request.window.ToNanoseconds() / 1e9 if request.HasField("window") else 3600.0
        if window <= 0:
            raise errors.InvalidArgument.field("window", "must be positive")
        stats = await self.service.get_queue_stats(window)
        return ai_job_pb2.GetQueueStatsResponse(
            queues=[stats_message(s) for s in stats], observe_time=timestamp(utcnow())
        )

    async def WatchJob(self, request: Any, context: Context) -> AsyncIterator[Any]:
        caller = caller_of(require_principal())
        async for event in self.service.watch(
            _job_id(request.name), request.after_event_id, caller
        ):
            yield _watch_response(event)

    async def ReportProgress(self, request_iterator: Any, context: Context) -> Any:
        first = await anext(aiter(request_iterator), None)
        if first is None:
            raise errors.InvalidArgument.field("name", "the stream sent no message")
        outcome = await serve_stream(
            self.service, _job_id(first.name), _reports(first, aiter(request_iterator))
        )
        return ai_job_pb2.ReportProgressResponse(
            cancel_requested=outcome.cancel_requested, accepted=outcome.accepted
        )


def build(app: App) -> AIJobServicer:
    """Build the servicer on the app's job service."""
    return AIJobServicer(app.job_service())
