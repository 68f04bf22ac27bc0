"""Creating a job, and retrying one as a new job: a saga of hold, store, enqueue.

Hold the credits (CreditsService over gRPC), store the job and queue the project in one
transaction, then enqueue; each step that fails undoes the ones before it.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from services.ai_job import jobs
from services.ai_job.jobs import Job, to_job
from services.ai_job.models import JobRow
from services.ai_job.pricing import price
from services.common import errors
from services.common.caller import Caller
from services.common.db import utcnow
from services.common.idempotency import fingerprint, reused_key

if TYPE_CHECKING:
    from services.ai_job.ai_job_service import AIJobService

log = logging.getLogger(__name__)


async def create(
    service: AIJobService,
    project_id: int,
    user_id: int,
    job_type: str,
    parameters: dict[str, Any] | None,
    priority: int,
    request_id: str,
    caller: Caller | None,
    retry_of: JobRow | None,
) -> Job:
    """Price, hold credits, store and queue a job for one of the user's projects."""
    parameters = dict(parameters or {})
    if "duration" in parameters:  # the product docs' name for it
        parameters["duration_seconds"] = parameters.pop("duration")
    caller = caller or Caller(user_id)
    jobs.check_request(job_type, priority, parameters, service.settings.job_diagnostics)
    if len(request_id) > 64:
        raise errors.InvalidArgument.field("request_id", "must be at most 64 characters")
    service.runners.require(job_type)
    digest = fingerprint(
        "create_job",
        project=project_id,
        job_type=job_type,
        priority=priority,
        parameters=parameters,
    )
    if request_id:
        async with service.db.reader() as db:
            existing = await db.scalar(
                select(JobRow).where(JobRow.owner_id == user_id, JobRow.request_id == request_id)
            )
        if existing is not None:
            if existing.request_fingerprint != digest:
                raise reused_key(request_id)
            return to_job(existing)
    # After the look-up's connection is back in the pool: holding it while get_project checks
    # out another would need two connections per call.
    project = await service.projects.get_project(project_id, caller)
    if project.deleted_at is not None:
        raise errors.NotFound(f"projects/{project_id} not found")
    _check_project_ready(job_type, project.status)
    merged: dict[str, Any] = {
        "duration_seconds": project.target_duration_seconds,
        "style": project.style,
        "voice": project.voice,
        "aspect_ratio": project.aspect_ratio,
        "resolution": project.resolution,
    } | {k: v for k, v in parameters.items() if v not in (None, "", 0)}
    job_id = secrets.randbits(62)
    merged["chain_root"] = jobs.root_of(retry_of) if retry_of is not None else job_id
    cost = price(
        job_type, merged["duration_seconds"], merged["resolution"], service.settings.job_costs
    )
    hold_key = f"job-hold:{project.owner_id}:{request_id or job_id}"
    reservation = await service.credits.reserve(
        project.owner_id, cost, job_id, service.settings.job_hold_ttl_seconds, hold_key
    )
    try:
        row = await _store(
            service,
            job_id,
            project.owner_id,
            project_id,
            job_type,
            priority,
            merged,
            cost,
            reservation,
            request_id,
            digest,
            caller,
            retry_of,
        )
    except BaseException:
        await _release_quietly(service, reservation, "job creation failed")
        raise
    try:
        await service.queue.enqueue(row.id, row.attempt, row.priority)
    except Exception as error:
        await _unstore(service, row)
        await _release_quietly(service, reservation, "enqueue failed")
        log.exception("enqueue failed; job creation undone", extra={"job_id": row.id})
        raise errors.Unavailable(
            "the job queue is unavailable; nothing was charged", retry_after_seconds=5
        ) from error
    await service.publish(row, "job queued")
    log.info("job created", extra={"job_id": row.id, "job_type": job_type, "cost": cost})
    return to_job(row)


async def retry(service: AIJobService, job_id: int, caller: Caller, request_id: str) -> Job:
    """Run a FAILED or CANCELLED job again as a new job that reuses completed stages."""
    async with service.db.reader() as db:
        row = await db.get(JobRow, job_id)
    if row is None or not (caller.is_admin or row.owner_id == caller.user_id):
        raise errors.NotFound(f"jobs/{job_id} not found")
    if row.status not in ("failed", "cancelled"):
        raise errors.FailedPrecondition(
            f"only a FAILED or CANCELLED job can be retried, not {row.status.upper()}",
            reason="JOB_NOT_RETRYABLE",
        )
    parameters = {k: v for k, v in row.parameters.items() if k != "chain_root"}
    return await service.create_job(
        row.project_id,
        row.owner_id,
        row.job_type,
        parameters,
        row.priority,
        request_id or f"retry-of-{row.id}",
        caller=caller,
        retry_of=row,
    )


def _check_project_ready(job_type: str, status: str) -> None:
    if job_type in jobs.GENERATING_TYPES and status not in jobs.PROJECT_READY_FOR_GENERATION:
        raise errors.FailedPrecondition(
            f"a {status.upper()} project cannot start a {job_type} job",
            reason="PROJECT_NOT_READY",
            metadata={"status": status.upper()},
        )
    if job_type == "youtube_upload" and status != "approved":
        raise errors.FailedPrecondition(
            "only an APPROVED project can be uploaded", reason="PROJECT_NOT_APPROVED"
        )


async def _store(
    service: AIJobService,
    job_id: int,
    owner_id: int,
    project_id: int,
    job_type: str,
    priority: int,
    parameters: dict[str, Any],
    cost: int,
    reservation: str,
    request_id: str,
    request_fingerprint: str,
    caller: Caller,
    retry_of: JobRow | None,
) -> JobRow:
    """Insert the job and queue its project, in one transaction."""
    now = utcnow()
    async with service.db.session() as db, db.begin():
        project = await service.projects.load(db, project_id, caller)
        _check_project_ready(job_type, project.status)
        before = project.status
        if job_type in jobs.GENERATING_TYPES:
            await service.projects.transition(
                db, project, "queued", caller.name, f"{job_type} job queued", job_id
            )
        row = JobRow(
            id=job_id,
            owner_id=owner_id,
            project_id=project_id,
            job_type=job_type,
            status="queued",
            priority=priority,
            parameters=parameters,
            attempt=1,
            max_attempts=service.settings.job_max_attempts,
            cost_credits=cost,
            reservation=reservation,
            request_id=request_id or None,
            request_fingerprint=request_fingerprint,
            retry_of=retry_of.id if retry_of is not None else None,
            project_status_before=before,
            created_at=now,
            queued_at=now,
            artifacts=[],
            result={},
        )
        db.add(row)
    return row


async def _unstore(service: AIJobService, row: JobRow) -> None:
    """Undo `_store`: delete the job and put the project back where it was."""
    async with service.db.session() as db, db.begin():
        await db.execute(delete(JobRow).where(JobRow.id == row.id))
        if row.job_type in jobs.GENERATING_TYPES:
            project = await service.projects.load(db, row.project_id, Caller(None, True))
            project.status = row.project_status_before
            project.version += 1


async def _release_quietly(service: AIJobService, reservation: str, reason: str) -> None:
    try:
        await service.credits.release(reservation, reason)
    except errors.DomainError:
        # The hold expires by itself after its TTL; nothing is lost, only delayed.
        log.exception("could not release a hold", extra={"reservation": reservation})
