"""Proto <-> domain for the job service."""

from __future__ import annotations

from typing import Any

from filmstudio.v1 import ai_job_pb2
from google.protobuf import duration_pb2, json_format, struct_pb2, timestamp_pb2

from services.ai_job.events import JobEvent
from services.ai_job.records import Job
from services.ai_job.stats import QueueStats
from services.common.convert import Link, artifact_message, timestamp
from services.common.enums import (
    ASPECT,
    ASPECT_VALUE,
    JOB_STATUS_VALUE,
    JOB_TYPE_VALUE,
    RESOLUTION,
    RESOLUTION_VALUE,
    STYLE,
    STYLE_VALUE,
    enum_name,
)


def _duration(seconds: float | None) -> duration_pb2.Duration | None:
    if seconds is None:
        return None
    value = duration_pb2.Duration()
    value.FromNanoseconds(int(seconds * 1e9))
    return value


def _struct(document: dict[str, Any]) -> struct_pb2.Struct:
    value = struct_pb2.Struct()
    value.update(document)
    return value


def parameters_from(message: ai_job_pb2.JobParameters) -> dict[str, Any]:
    """Read job parameters; "" and 0 mean "take the project's value"."""
    extra = json_format.MessageToDict(message.extra) if message.HasField("extra") else {}
    extra.pop("chain_root", None)  # set by the service, never by clients
    return {
        "style": enum_name(STYLE, message.style),
        "duration_seconds": message.duration_seconds,
        "voice": message.voice,
        "aspect_ratio": enum_name(ASPECT, message.aspect_ratio),
        "resolution": enum_name(RESOLUTION, message.resolution),
        "extra": extra,
    }


def parameters_message(parameters: dict[str, Any]) -> ai_job_pb2.JobParameters:
    """Return the proto of stored parameters (the chain root travels in `extra`, as a string)."""
    extra = dict(parameters.get("extra") or {})
    if "chain_root" in parameters:
        extra["chain_root"] = str(parameters["chain_root"])
    return ai_job_pb2.JobParameters(
        style=STYLE_VALUE.get(parameters.get("style", ""), 0),  # type: ignore[arg-type]
        duration_seconds=int(parameters.get("duration_seconds") or 0),
        voice=str(parameters.get("voice", "")),
        aspect_ratio=ASPECT_VALUE.get(parameters.get("aspect_ratio", ""), 0),  # type: ignore[arg-type]
        resolution=RESOLUTION_VALUE.get(parameters.get("resolution", ""), 0),  # type: ignore[arg-type]
        extra=_struct(extra),
    )


def job_message(job: Job, link: Link | None = None) -> ai_job_pb2.Job:
    """Return the proto of a job."""
    return ai_job_pb2.Job(
        name=f"jobs/{job.id}",
        project=f"projects/{job.project_id}",
        owner=f"users/{job.owner_id}",
        job_type=JOB_TYPE_VALUE.get(job.job_type, 0),  # type: ignore[arg-type]
        status=JOB_STATUS_VALUE.get(job.status, 0),  # type: ignore[arg-type]
        priority=job.priority,
        parameters=parameters_message(job.parameters),
        stage=job.stage,
        progress=job.progress,
        message=job.message,
        eta=_duration(job.eta_seconds),
        attempt=job.attempt,
        cost_credits=job.cost_credits,
        reservation=job.reservation,
        artifacts=[artifact_message(a, link) for a in job.artifacts],
        result=_struct(job.result),
        error=job.error,
        create_time=timestamp(job.created_at),
        start_time=timestamp(job.started_at),
        end_time=timestamp(job.ended_at),
        retry_of=f"jobs/{job.retry_of}" if job.retry_of else "",
    )


def event_message(event: JobEvent) -> ai_job_pb2.JobEvent:
    """Return the proto of an event."""
    when = timestamp_pb2.Timestamp()
    when.FromNanoseconds(int(event.time * 1e9))
    return ai_job_pb2.JobEvent(
        id=event.id,
        job=f"jobs/{event.job_id}",
        event_time=when,
        status=JOB_STATUS_VALUE.get(event.status, 0),  # type: ignore[arg-type]
        stage=event.stage,
        progress=event.progress,
        message=event.message,
        eta=_duration(event.eta_seconds),
        terminal=event.terminal,
    )


def stats_message(stats: QueueStats) -> ai_job_pb2.QueueStats:
    """Return the proto of one queue's stats."""
    return ai_job_pb2.QueueStats(
        queue=stats.queue,
        queued=stats.queued,
        running=stats.running,
        succeeded=stats.succeeded,
        failed=stats.failed,
        throughput_per_minute=stats.throughput_per_minute,
        wait_p50=_duration(stats.wait_p50),
        wait_p95=_duration(stats.wait_p95),
        run_p50=_duration(stats.run_p50),
        run_p95=_duration(stats.run_p95),
    )
