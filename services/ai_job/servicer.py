"""The gRPC transport of AIJobService: proto in, domain call, proto out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
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
from services.ai_job.progress_stream import Report
from services.ai_job.records import Job
from services.common import errors
from services.common.caller import caller_of
from services.common.context import require_principal
from services.common.convert import Link, resource_id, timestamp
from services.common.db import utcnow
from services.common.enums import JOB_STATUS, JOB_TYPE, enum_name
from services.common.memo import PerRecord

# Each RPC's context is typed with its request and response.
Context = grpc.aio.ServicerContext


def _job_id(name: str, field: str = "name") -> int:
    return resource_id(name, "jobs", field)


async def _reports(
    first: ai_job_pb2.ReportProgressRequest,
    rest: AsyncIterator[ai_job_pb2.ReportProgressRequest],
) -> AsyncIterator[Report]:
    yield _report(first)
    async for message in rest:
        yield _report(message)


def _report(message: ai_job_pb2.ReportProgressRequest) -> Report:
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


def _watch_response_of(event: JobEvent) -> ai_job_pb2.WatchJobResponse:
    """Build the response that carries one event."""
    return ai_job_pb2.WatchJobResponse(event=event_message(event))


# Each event's response is built once, however many watchers receive it: the local fan-out
# hands every watcher the same event object, so identity is the key (no hash of its fields).
_watch_response: PerRecord[JobEvent, ai_job_pb2.WatchJobResponse] = PerRecord(_watch_response_of)


class AIJobServicer(ai_job_pb2_grpc.AIJobServiceServicer):
    """AIJobService over gRPC."""

    def __init__(self, service: AIJobService, link: Link | None = None) -> None:
        self.service = service
        # Artifacts carry download URLs when the process can make them (its storage).
        self.link = link
        # A cached job is read by many calls: its message is made once (memo.py).
        self._message: PerRecord[Job, ai_job_pb2.Job] = PerRecord(
            lambda job: job_message(job, link)
        )

    async def CreateJob(
        self,
        request: ai_job_pb2.CreateJobRequest,
        context: Context[ai_job_pb2.CreateJobRequest, ai_job_pb2.CreateJobResponse],
    ) -> ai_job_pb2.CreateJobResponse:
        caller = caller_of(require_principal())
        job = await self.service.create_job(
            resource_id(request.job.project, "projects", "job.project"),
            caller.user_id,
            enum_name(JOB_TYPE, request.job.job_type),
            parameters_from(request.job.parameters),
            request.job.priority or None,  # 0: not given
            request.request_id,
            caller=caller,
        )
        return ai_job_pb2.CreateJobResponse(job=job_message(job, self.link))

    async def GetJob(
        self,
        request: ai_job_pb2.GetJobRequest,
        context: Context[ai_job_pb2.GetJobRequest, ai_job_pb2.GetJobResponse],
    ) -> ai_job_pb2.GetJobResponse:
        job = await self.service.get_job(_job_id(request.name), caller_of(require_principal()))
        return ai_job_pb2.GetJobResponse(job=self._message(job))

    async def ListJobs(
        self,
        request: ai_job_pb2.ListJobsRequest,
        context: Context[ai_job_pb2.ListJobsRequest, ai_job_pb2.ListJobsResponse],
    ) -> ai_job_pb2.ListJobsResponse:
        caller = caller_of(require_principal())
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
            jobs=[job_message(j, self.link) for j in page.jobs],
            next_page_token=page.next_page_token,
        )

    async def UpdateJobStatus(
        self,
        request: ai_job_pb2.UpdateJobStatusRequest,
        context: Context[ai_job_pb2.UpdateJobStatusRequest, ai_job_pb2.UpdateJobStatusResponse],
    ) -> ai_job_pb2.UpdateJobStatusResponse:
        job = await self.service.update_job_status(
            _job_id(request.name),
            enum_name(JOB_STATUS, request.status),
            request.attempt,
            worker=request.worker,
            error=request.error,
        )
        return ai_job_pb2.UpdateJobStatusResponse(job=job_message(job, self.link))

    async def UpdateJobResult(
        self,
        request: ai_job_pb2.UpdateJobResultRequest,
        context: Context[ai_job_pb2.UpdateJobResultRequest, ai_job_pb2.UpdateJobResultResponse],
    ) -> ai_job_pb2.UpdateJobResultResponse:
        job = await self.service.update_job_result(
            _job_id(request.name),
            request.attempt,
            [
                json_format.MessageToDict(a, preserving_proto_field_name=True)
                for a in request.artifacts
            ],
            json_format.MessageToDict(request.result),
        )
        return ai_job_pb2.UpdateJobResultResponse(job=job_message(job, self.link))

    async def CancelJob(
        self,
        request: ai_job_pb2.CancelJobRequest,
        context: Context[ai_job_pb2.CancelJobRequest, ai_job_pb2.CancelJobResponse],
    ) -> ai_job_pb2.CancelJobResponse:
        job = await self.service.cancel_job(_job_id(request.name), caller_of(require_principal()))
        return ai_job_pb2.CancelJobResponse(job=job_message(job, self.link))

    async def RetryJob(
        self,
        request: ai_job_pb2.RetryJobRequest,
        context: Context[ai_job_pb2.RetryJobRequest, ai_job_pb2.RetryJobResponse],
    ) -> ai_job_pb2.RetryJobResponse:
        job = await self.service.retry_job(
            _job_id(request.name), caller_of(require_principal()), request.request_id
        )
        return ai_job_pb2.RetryJobResponse(job=job_message(job, self.link))

    async def GetQueueStats(
        self,
        request: ai_job_pb2.GetQueueStatsRequest,
        context: Context[ai_job_pb2.GetQueueStatsRequest, ai_job_pb2.GetQueueStatsResponse],
    ) -> ai_job_pb2.GetQueueStatsResponse:
        window = request.window.ToNanoseconds() / 1e9 if request.HasField("window") else None
        stats = await self.service.get_queue_stats(window)
        return ai_job_pb2.GetQueueStatsResponse(
            queues=[stats_message(s) for s in stats], observe_time=timestamp(utcnow())
        )

    async def WatchJob(
        self,
        request: ai_job_pb2.WatchJobRequest,
        context: Context[ai_job_pb2.WatchJobRequest, ai_job_pb2.WatchJobResponse],
    ) -> AsyncIterator[ai_job_pb2.WatchJobResponse]:
        caller = caller_of(require_principal())
        async for event in self.service.watch(
            _job_id(request.name), request.after_event_id, caller
        ):
            yield _watch_response(event)

    async def ReportProgress(
        self,
        request_iterator: AsyncIterator[ai_job_pb2.ReportProgressRequest],
        context: Context[ai_job_pb2.ReportProgressRequest, ai_job_pb2.ReportProgressResponse],
    ) -> ai_job_pb2.ReportProgressResponse:
        first = await anext(aiter(request_iterator), None)
        if first is None:
            raise errors.InvalidArgument.field("name", "the stream sent no message")
        outcome = await self.service.report_progress(
            _job_id(first.name), _reports(first, aiter(request_iterator))
        )
        return ai_job_pb2.ReportProgressResponse(
            cancel_requested=outcome.cancel_requested, accepted=outcome.accepted
        )
