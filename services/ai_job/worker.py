"""The stateless worker: claims an attempt, runs its stages, streams progress, stores results.

It talks only gRPC (to the job and project services) and object storage, never the database.
`run_queued_job` is what RQ calls; the in-process pool calls `Worker.run` directly. With traces
on, an attempt runs in a "job" span that continues the trace of the call that enqueued it, each
stage in a span of its own (stage_graph.py), and the calls back to the job service carry it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import grpc
from filmstudio.v1 import ai_job_pb2, ai_job_pb2_grpc, common_pb2, project_pb2, project_pb2_grpc
from google.protobuf import json_format, struct_pb2
from opentelemetry.trace import SpanKind

from services.ai_job.convert import parameters_from
from services.ai_job.pipeline.stage import StageCancelled
from services.ai_job.queue import TRACE_META_KEY
from services.ai_job.runners import RunnerRegistry
from services.ai_job.stage_adapters import options_from
from services.ai_job.stage_graph import GraphRunner, RunContext
from services.common import metrics, tracing
from services.common.config import Settings, load_settings
from services.common.dependencies import internal_channel
from services.common.logs import flush_handlers
from services.common.storage import Storage
from services.common.storage_setup import storage_from_settings
from services.common.tokens import ServiceToken, TokenCodec

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """The job service told this worker to stop."""


def default_worker_id() -> str:
    """Return host:pid, enough to tell workers apart in logs and job records."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    """Runs job attempts handed over by a queue."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        *,
        worker_id: str | None = None,
        target: str | None = None,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.worker_id = worker_id or default_worker_id()
        self.target = target or settings.jobs_service_address or settings.grpc_target
        self.codec = TokenCodec.from_settings(settings)
        self.registry = RunnerRegistry(diagnostics=settings.job_diagnostics, settings=settings)
        self.graph = GraphRunner(
            storage,
            retries=settings.stage_retries,
            retry_base_seconds=settings.stage_retry_base_seconds,
            parallelism=settings.stage_parallelism,
        )
        self.options = options_from(settings)
        self._channel: grpc.aio.Channel | None = None
        self._token = ServiceToken(self.codec, f"worker:{self.worker_id}")

    def _auth(self) -> tuple[tuple[str, str], ...]:
        # The current span (the job's) goes with every call: the service's spans join its trace.
        return (("authorization", f"Bearer {self._token()}"), *tracing.metadata())

    def channel(self) -> grpc.aio.Channel:
        """Return the (lazily opened) channel to the job service."""
        if self._channel is None:
            # Reading the project is idempotent, so gRPC may retry it through a short outage;
            # claims and results are not retried blindly (the reaper settles lost attempts).
            self._channel = internal_channel(
                self.target, idempotent_services=["filmstudio.v1.ProjectService"]
            )
        return self._channel

    async def close(self) -> None:
        """Close the channel."""
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = None

    async def run(self, job_id: int, attempt: int, trace: Mapping[str, str] | None = None) -> None:
        """Claim and run one attempt; report its end (or stop quietly if it is not ours).

        `trace` is the enqueuing call's trace context (RQ's job meta); without it the attempt's
        span continues the current context (the in-process queue sets it).
        """
        parent = tracing.extract(trace) if trace else None
        attributes = {"job.id": job_id, "job.attempt": attempt, "worker": self.worker_id}
        with tracing.span("job", parent, SpanKind.CONSUMER, attributes):
            await self._run(job_id, attempt)

    async def _run(self, job_id: int, attempt: int) -> None:
        # The generated stubs are typed for sync channels; these calls are grpc.aio.
        jobs: Any = ai_job_pb2_grpc.AIJobServiceStub(self.channel())
        name = f"jobs/{job_id}"
        try:
            claimed = await jobs.UpdateJobStatus(
                ai_job_pb2.UpdateJobStatusRequest(
                    name=name,
                    status=common_pb2.JOB_STATUS_RUNNING,
                    attempt=attempt,
                    worker=self.worker_id,
                ),
                metadata=self._auth(),
                timeout=30,
            )
        except grpc.aio.AioRpcError as error:
            log.info("attempt not claimed", extra={"job_id": job_id, "why": error.details()})
            return
        job = json_format.MessageToDict(claimed.job, preserving_proto_field_name=True)
        job["attempt"], job["id"] = attempt, job_id
        # The stages read domain values ("cinematic", "16:9"), not the proto's enum names.
        job["parameters"] = parameters_from(claimed.job.parameters)
        root = claimed.job.parameters.extra.fields.get("chain_root")
        job["parameters"]["extra"]["chain_root"] = root.string_value if root else str(job_id)
        job["job_type"] = (
            common_pb2.JobType.Name(claimed.job.job_type).removeprefix("JOB_TYPE_").lower()
        )
        projects: Any = project_pb2_grpc.ProjectServiceStub(self.channel())
        project = await projects.GetProject(
            project_pb2.GetProjectRequest(name=claimed.job.project),
            metadata=self._auth(),
            timeout=30,
        )
        await self._run_claimed(
            jobs, job, json_format.MessageToDict(project.project, preserving_proto_field_name=True)
        )

    async def _run_claimed(self, jobs: Any, job: dict[str, Any], project: dict[str, Any]) -> None:
        name, attempt = job["name"], job["attempt"]
        reports: asyncio.Queue[ai_job_pb2.ReportProgressRequest | None] = asyncio.Queue()
        stop = threading.Event()
        loop = asyncio.get_running_loop()

        async def requests() -> AsyncIterator[ai_job_pb2.ReportProgressRequest]:
            yield ai_job_pb2.ReportProgressRequest(
                name=name, attempt=attempt, worker=self.worker_id, heartbeat=True
            )
            while (report := await reports.get()) is not None:
                yield report

        call = jobs.ReportProgress(requests(), metadata=self._auth())

        async def watch_answer() -> None:
            try:
                answer = await call
                if answer.cancel_requested:
                    stop.set()
            except grpc.aio.AioRpcError:
                stop.set()  # the job service is gone: stop rather than work unheard

        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(self.settings.heartbeat_interval_seconds)
                reports.put_nowait(ai_job_pb2.ReportProgressRequest(heartbeat=True))

        def report(percent: float, stage: str, message: str) -> None:
            request = ai_job_pb2.ReportProgressRequest(
                stage=stage, progress=percent, message=message
            )
            loop.call_soon_threadsafe(reports.put_nowait, request)

        answer_task = loop.create_task(watch_answer())
        beat_task = loop.create_task(heartbeat())
        prefix = f"projects/{int(project['name'].split('/')[1])}"
        context = RunContext(
            job, project, self.storage, prefix, report, stop.is_set, options=dict(self.options)
        )
        failure, outcome, started = "", "succeeded", time.perf_counter()
        try:
            await asyncio.to_thread(self._run_stages, context)
        except Cancelled:
            log.info("job cancelled; stopped", extra={"job_id": job["id"]})
            outcome = "cancelled"
        except Exception as error:  # a stage gave up after its retries
            log.warning("job failed", extra={"job_id": job["id"]}, exc_info=True)
            failure, outcome = f"{type(error).__name__}: {error}", "failed"
        finally:
            beat_task.cancel()
        try:
            # Close the stream and let the service take every report before the outcome
            # lands, so watchers see the progress in order before the final event.
            reports.put_nowait(None)
            await asyncio.gather(answer_task, return_exceptions=True)
            if outcome != "cancelled" and not await self._report_end(
                jobs, name, attempt, context, failure, stop
            ):
                outcome = "abandoned"
        finally:
            metrics.observe_job(job["job_type"], outcome, time.perf_counter() - started)

    async def _report_end(
        self,
        jobs: Any,
        name: str,
        attempt: int,
        context: RunContext,
        failure: str,
        stop: threading.Event,
    ) -> bool:
        """Report the attempt's result or failure; return False when it no longer counts."""
        if stop.is_set():
            return False  # cancelled or requeued while its last stage ran on
        if failure:
            return await self._report_failure(jobs, name, attempt, failure)
        return await self._report_result(jobs, name, attempt, context)

    def _run_stages(self, context: RunContext) -> None:
        """Run the job's stage graph (in a thread), reusing what earlier runs finished."""
        try:
            self.graph.run(context, self.registry.stages(context.job))
        except StageCancelled as cancelled:
            raise Cancelled() from cancelled

    async def _report_result(self, jobs: Any, name: str, attempt: int, context: RunContext) -> bool:
        result = struct_pb2.Struct()
        result.update(context.outputs)
        request = ai_job_pb2.UpdateJobResultRequest(
            name=name,
            attempt=attempt,
            artifacts=[common_pb2.Artifact(**artifact) for artifact in context.artifacts],
            result=result,
        )
        try:
            await jobs.UpdateJobResult(request, metadata=self._auth(), timeout=30)
        except grpc.aio.AioRpcError as error:
            # A stale attempt (requeued while we were cut off) loses: the other worker's counts.
            log.warning("result refused", extra={"job": name, "why": error.details()})
            return False
        return True

    async def _report_failure(self, jobs: Any, name: str, attempt: int, error: str) -> bool:
        request = ai_job_pb2.UpdateJobStatusRequest(
            name=name, status=common_pb2.JOB_STATUS_FAILED, attempt=attempt, error=error
        )
        try:
            await jobs.UpdateJobStatus(request, metadata=self._auth(), timeout=30)
        except grpc.aio.AioRpcError as rpc_error:
            log.warning("failure report refused", extra={"job": name, "why": rpc_error.details()})
            return False
        return True


def run_queued_job(job_id: int, attempt: int) -> None:
    """RQ's entry point: run one attempt in this (work-horse) process."""
    from rq import get_current_job

    settings = load_settings()
    worker = Worker(settings, storage_from_settings(settings))
    job = get_current_job()
    trace = job.meta.get(TRACE_META_KEY) if job is not None else None
    tracing.configure(settings, "filmstudio-worker")  # kept if the forking worker set it up

    async def main() -> None:
        try:
            await worker.run(job_id, attempt, trace if isinstance(trace, dict) else None)
        finally:
            await worker.close()

    # This process ends with the job: the worker that forked it records what it measured.
    try:
        with metrics.capture() as observations:
            asyncio.run(main())
    finally:
        # A work horse leaves by os._exit: no atexit sends the last spans or writes the last lines.
        tracing.flush()
        flush_handlers()
    if job is not None and observations:
        job.meta[metrics.META_KEY] = observations
        job.save_meta()  # type: ignore[no-untyped-call]
