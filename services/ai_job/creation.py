"""Creating a job, and retrying one as a new job: a saga of hold, store, enqueue.

Hold the credits (CreditsService over gRPC), store the job and queue the project in one
transaction, then enqueue; each step that fails undoes the ones before it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from typing import Any

from sqlalchemy import delete, select

from services.ai_job.announce import announce
from services.ai_job.credits_client import CreditsClient
from services.ai_job.events import EventBus
from services.ai_job.hold_undo import HoldUndo
from services.ai_job.models import JobRow
from services.ai_job.pricing import price
from services.ai_job.queue import JobQueue
from services.ai_job.records import (
    DEFAULT_PRIORITY,
    GENERATING_TYPES,
    PROJECT_READY_FOR_GENERATION,
    Job,
    check_request,
    root_of,
    to_job,
)
from services.ai_job.runners import RunnerRegistry
from services.common import errors
from services.common.caller import Caller
from services.common.config import Settings
from services.common.db import Database, utcnow
from services.common.idempotency import fingerprint, reused_key
from services.project.project_service import ProjectService

log = logging.getLogger(__name__)


class JobCreation:
    """Price, pay for, store and queue new jobs, and retries of ended ones."""

    def __init__(
        self,
        database: Database,
        queue: JobQueue,
        events: EventBus,
        projects: ProjectService,
        credits: CreditsClient,
        runners: RunnerRegistry,
        settings: Settings,
    ) -> None:
        self.database = database
        self.queue = queue
        self.events = events
        self.projects = projects
        self.credits = credits
        self.runners = runners
        self.settings = settings
        self.undo = HoldUndo(database, credits, settings.job_hold_ttl_seconds)

    async def create(
        self,
        project_id: int,
        user_id: int | None,
        job_type: str,
        parameters: dict[str, Any] | None = None,
        priority: int | None = None,
        request_id: str = "",
        *,
        caller: Caller | None = None,
        retry_of: JobRow | None = None,
    ) -> Job:
        """Price, hold credits, store and queue a job for one of the user's projects."""
        parameters = dict(parameters or {})
        if "duration" in parameters:  # the product docs' name for it
            parameters["duration_seconds"] = parameters.pop("duration")
        caller = caller or Caller(user_id)
        if caller.user_id is None and not caller.is_admin:
            raise errors.InvalidArgument.field("job.owner", "a user must create jobs")
        priority = DEFAULT_PRIORITY if priority is None else priority
        check_request(job_type, priority, parameters, self.settings.job_diagnostics)
        if len(request_id) > 64:
            raise errors.InvalidArgument.field("request_id", "must be at most 64 characters")
        self.runners.require(job_type)
        digest = fingerprint(
            "create_job",
            project=project_id,
            job_type=job_type,
            priority=priority,
            parameters=parameters,
        )
        if request_id and (replayed := await self._replay(user_id or 0, request_id, digest)):
            return replayed
        # After the look-up's connection is back in the pool: holding it while get_project checks
        # out another would need two connections per call.
        project = await self.projects.get_project(project_id, caller)
        if project.deleted_at is not None:
            raise errors.NotFound(f"projects/{project_id} not found")
        try:
            _check_project_ready(job_type, project.status, self.settings.youtube_require_approval)
        except errors.FailedPrecondition:
            # A concurrent call with this request_id may have queued the project with our job.
            if request_id and (replayed := await self._replay(user_id or 0, request_id, digest)):
                return replayed
            raise
        merged: dict[str, Any] = {
            "duration_seconds": project.target_duration_seconds,
            "style": project.style,
            "voice": project.voice,
            "aspect_ratio": project.aspect_ratio,
            "resolution": project.resolution,
        } | {k: v for k, v in parameters.items() if v not in (None, "", 0)}
        # Concurrent calls with one request_id make one job: the same id, so the same hold
        # (the credits service replays a repeated key) and one row (checked under the lock).
        job_id = _job_id_for(project.owner_id, request_id) if request_id else secrets.randbits(62)
        merged["chain_root"] = root_of(retry_of) if retry_of is not None else job_id
        cost = price(
            job_type, merged["duration_seconds"], merged["resolution"], self.settings.job_costs
        )
        hold_key = f"job-hold:{project.owner_id}:{request_id or job_id}"
        try:
            hold = await self.credits.reserve(
                project.owner_id, cost, job_id, self.settings.job_hold_ttl_seconds, hold_key
            )
        except errors.FailedPrecondition as error:
            if error.reason == "IDEMPOTENCY_KEY_REUSED":  # name the caller's key, not ours
                raise reused_key(request_id) from None
            raise
        if not hold.pending:
            # Settled already: by the job of a concurrent call with this key (it ran that fast),
            # or without a job when its creation was undone, and a job on it would run unpaid.
            if replayed := await self._replay(project.owner_id, request_id, digest):
                return replayed
            raise errors.FailedPrecondition(
                f"request_id {request_id!r} belongs to a call whose job was not created; "
                "send a new request_id",
                reason="IDEMPOTENCY_KEY_SPENT",
                metadata={"request_id": request_id},
                subject=request_id,
            )
        reservation = hold.name
        row = JobRow(
            id=job_id,
            owner_id=project.owner_id,
            project_id=project_id,
            job_type=job_type,
            status="queued",
            priority=priority,
            parameters=merged,
            attempt=1,
            max_attempts=self.settings.job_max_attempts,
            cost_credits=cost,
            reservation=reservation,
            request_id=request_id or None,
            request_fingerprint=digest,
            retry_of=retry_of.id if retry_of is not None else None,
            artifacts=[],
            result={},
        )
        try:
            existing = await self._store(row, caller)
        except asyncio.CancelledError:
            # A second cancellation must not cut the undo short: it runs on its own.
            self.undo.undo_soon(row.id, reservation, "job creation cancelled")
            raise
        except BaseException:
            await self.undo.undo(row.id, reservation, "job creation failed")
            raise
        if existing is not None:
            # A concurrent call with the same request_id stored the job first; the hold is its.
            if existing.request_fingerprint != digest:
                raise reused_key(request_id)
            return to_job(existing)
        try:
            await self.queue.enqueue(row.id, row.attempt, row.priority)
        except Exception as error:
            await self._unstore(row)
            await self.undo.undo(row.id, reservation, "enqueue failed")
            log.exception("enqueue failed; job creation undone", extra={"job_id": row.id})
            raise errors.Unavailable(
                "the job queue is unavailable; nothing was charged", retry_after_seconds=5
            ) from error
        await announce(self.events, row, "job queued")
        log.info("job created", extra={"job_id": row.id, "job_type": job_type, "cost": cost})
        return to_job(row)

    async def retry(self, job_id: int, caller: Caller, request_id: str = "") -> Job:
        """Run a FAILED or CANCELLED job again as a new job that reuses completed stages."""
        async with self.database.reader() as db:
            row = await db.get(JobRow, job_id)
        if row is None or not caller.may_act_for(row.owner_id):
            raise errors.NotFound(f"jobs/{job_id} not found")
        if row.status not in ("failed", "cancelled"):
            raise errors.FailedPrecondition(
                f"only a FAILED or CANCELLED job can be retried, not {row.status.upper()}",
                reason="JOB_NOT_RETRYABLE",
            )
        parameters = {k: v for k, v in row.parameters.items() if k != "chain_root"}
        return await self.create(
            row.project_id,
            row.owner_id,
            row.job_type,
            parameters,
            row.priority,
            request_id or f"retry-of-{row.id}",
            caller=caller,
            retry_of=row,
        )

    async def _store(self, row: JobRow, caller: Caller) -> JobRow | None:
        """Insert the job and queue its project, in one transaction; return a job stored first.

        The project's row lock orders concurrent calls, so the one after the first sees its job.
        """
        row.created_at = row.queued_at = utcnow()
        async with self.database.session() as db, db.begin():
            project = await self.projects.load(db, row.project_id, caller)
            if row.request_id is not None:
                existing = await db.scalar(
                    select(JobRow).where(
                        JobRow.owner_id == row.owner_id, JobRow.request_id == row.request_id
                    )
                )
                if existing is not None:
                    return existing
            _check_project_ready(
                row.job_type, project.status, self.settings.youtube_require_approval
            )
            row.project_status_before = project.status
            if row.job_type in GENERATING_TYPES:
                await self.projects.transition(
                    db, project, "queued", caller.name, f"{row.job_type} job queued", row.id
                )
            db.add(row)
        return None

    async def _replay(self, owner_id: int, request_id: str, digest: str) -> Job | None:
        """Return the job an earlier call with this request_id made (None: there is none)."""
        async with self.database.reader() as db:
            existing = await db.scalar(
                select(JobRow).where(JobRow.owner_id == owner_id, JobRow.request_id == request_id)
            )
        if existing is None:
            return None
        if existing.request_fingerprint != digest:
            raise reused_key(request_id)
        return to_job(existing)

    async def _unstore(self, row: JobRow) -> None:
        """Undo `_store`: delete the job and put the project back where it was."""
        async with self.database.session() as db, db.begin():
            await db.execute(delete(JobRow).where(JobRow.id == row.id))
            if row.job_type in GENERATING_TYPES:
                await self.projects.restore_status(db, row.project_id, row.project_status_before)


def _job_id_for(owner_id: int, request_id: str) -> int:
    """Return the job id a request_id stands for: 62 bits, like the random ids."""
    digest = hashlib.sha256(f"job:{owner_id}:{request_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 2


def _check_project_ready(job_type: str, status: str, require_approval: bool) -> None:
    if job_type in GENERATING_TYPES and status not in PROJECT_READY_FOR_GENERATION:
        raise errors.FailedPrecondition(
            f"a {status.upper()} project cannot start a {job_type} job",
            reason="PROJECT_NOT_READY",
            metadata={"status": status.upper()},
        )
    uploadable = ("approved",) if require_approval else ("completed", "approved")
    # A PUBLISHED project's upload may be retried (its thumbnail or playlist step failed).
    if job_type == "youtube_upload" and status not in (*uploadable, "published"):
        raise errors.FailedPrecondition(
            f"only a {' or '.join(s.upper() for s in uploadable)} project can be uploaded",
            reason="PROJECT_NOT_UPLOADABLE",
            metadata={"status": status.upper()},
        )
