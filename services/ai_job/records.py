"""The job records, their validation, and the rules of which job types touch the project status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.ai_job.models import JobRow
from services.ai_job.pricing import JOB_TYPES
from services.common import errors
from services.common.errors import FieldViolation
from services.common.hot_reads import Found
from services.common.records import Record

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
# These render the project: creating one queues the project, finishing completes or fails it.
GENERATING_TYPES = frozenset(JOB_TYPES) - {"youtube_upload"}
PROJECT_READY_FOR_GENERATION = frozenset({"draft", "failed"})
# A job that names no priority runs on the normal queue.
DEFAULT_PRIORITY = 2


@dataclass(frozen=True)
class Job(Record):
    """A job as callers see it."""

    id: int
    project_id: int
    owner_id: int
    job_type: str
    status: str
    priority: int
    parameters: dict[str, Any]
    stage: str
    progress: float
    message: str
    eta_seconds: float | None
    attempt: int
    cost_credits: int
    reservation: str
    artifacts: list[dict[str, Any]]
    result: dict[str, Any]
    error: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    retry_of: int | None
    cancel_requested: bool


@dataclass(frozen=True)
class JobPage(Record):
    """One page of jobs."""

    jobs: list[Job]
    next_page_token: str


def to_job(row: JobRow | Found) -> Job:
    """Copy a row into a record."""
    return Job(
        id=row.id,
        project_id=row.project_id,
        owner_id=row.owner_id,
        job_type=row.job_type,
        status=row.status,
        priority=row.priority,
        parameters=dict(row.parameters or {}),
        stage=row.stage,
        progress=row.progress,
        message=row.message,
        eta_seconds=row.eta_seconds,
        attempt=row.attempt,
        cost_credits=row.cost_credits,
        reservation=row.reservation,
        artifacts=list(row.artifacts or []),
        result=dict(row.result or {}),
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        retry_of=row.retry_of,
        cancel_requested=row.cancel_requested,
    )


def check_request(
    job_type: str, priority: int, parameters: dict[str, Any], diagnostics: bool
) -> None:
    """Validate a create request; one violation per bad field."""
    found: list[FieldViolation] = []
    if job_type not in JOB_TYPES:
        found.append(FieldViolation("job.job_type", f"must be one of {', '.join(JOB_TYPES)}"))
    if priority not in (1, 2, 3):
        found.append(FieldViolation("job.priority", "must be 1 (high), 2 (normal) or 3 (low)"))
    duration = parameters.get("duration_seconds", 0)
    if duration and not 10 <= duration <= 600:
        found.append(FieldViolation("job.parameters.duration_seconds", "must be 10 to 600"))
    extra = parameters.get("extra") or {}
    if "diagnostic" in extra and not diagnostics:
        found.append(
            FieldViolation("job.parameters.extra", "diagnostic jobs are disabled on this server")
        )
    if found:
        raise errors.InvalidArgument(found)


def root_of(row: JobRow) -> int:
    """Return the first job of a retry chain: its artifacts prefix is shared by every attempt."""
    return int(row.parameters.get("chain_root", row.id)) if row.parameters else row.id


def artifact_prefix(project_id: int, chain_root: int) -> str:
    """Return the storage prefix of a job chain's artifacts."""
    return f"projects/{project_id}/jobs/{chain_root}"
