"""The running side of jobs: claims, progress, results, cancellation, settlement, recovery.

Every terminal transition happens once, in a transaction that checks the job is still RUNNING
(or QUEUED) at the reporting attempt; it records whether the credit hold must be captured or
released, and `settle` performs that afterwards (see `settlement.py`). The periodic sweep of
jobs that lost their worker, their queue entry or their settlement is in `recovery.py`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.ai_job import jobs, recovery, settlement
from services.ai_job.credits_client import CreditsClient
from services.ai_job.events import EventBus, JobEvent
from services.ai_job.jobs import Job, to_job
from services.ai_job.models import JobRow
from services.ai_job.queue import JobQueue
from services.ai_job.runners import RunnerRegistry
from services.common import errors
from services.common.caller import Caller
from services.common.config import Settings
from services.common.db import Database, utcnow
from services.project.project_service import ProjectService

log = logging.getLogger(__name__)

SYSTEM = Caller(None, is_admin=True, actor="services/jobs")
# Progress is published to watchers at once, but written to the database at most this often.
PROGRESS_WRITE_INTERVAL = 0.5


@dataclass
class Claim:
    """The answer to a worker that starts (or resumes) an attempt."""

    accepted: bool
    job: Job | None = None


class Lifecycle:
    """State changes of running jobs, shared by the service and its progress streams."""

    def __init__(
        self,
        db: Database,
        queue: JobQueue,
        *,
        settings: Settings,
        projects: ProjectService,
        credits: CreditsClient,
        events: EventBus,
    ) -> None:
        self.db = db
        self.queue = queue
        self.settings = settings
        self.projects = projects
        self.credits = credits
        self.events = events
        self.runners = RunnerRegistry(diagnostics=settings.job_diagnostics)
        self._last_write: dict[int, float] = {}

    async def publish(
        self, row: JobRow, message: str = "", *, cancel_requested: bool = False
    ) -> str:
        """Tell watchers where a job stands."""
        return await self.events.publish(
            JobEvent(
                id="",
                job_id=row.id,
                time=time.time(),
                status=row.status,
                stage=row.stage,
                progress=row.progress,
                message=message or row.message,
                eta_seconds=row.eta_seconds,
                terminal=row.status in jobs.TERMINAL,
                cancel_requested=cancel_requested,
            )
        )

    async def _project_to(self, db: AsyncSession, row: JobRow, status: str, reason: str) -> None:
        """Move the job's project along, when this job type owns the project's status."""
        if row.job_type not in jobs.GENERATING_TYPES:
            return
        project = await self.projects.load(db, row.project_id, SYSTEM)
        try:
            await self.projects.transition(db, project, status, SYSTEM.name, reason, row.id)
        except errors.FailedPrecondition:
            log.warning(
                "project status left as is",
                extra={"project_id": row.project_id, "from": project.status, "to": status},
            )

    # --- Worker side ------------------------------------------------------------------------

    async def claim(self, job_id: int, attempt: int, worker: str) -> Claim:
        """Start an attempt for a worker, or refuse if it is not (or no longer) its to run."""
        async with self.db.session() as db, db.begin():
            row = await db.get(JobRow, job_id, with_for_update=True)
            if row is None or row.attempt != attempt or row.cancel_requested:
                return Claim(False)
            if row.status == "running" and row.worker_id == worker:
                row.heartbeat_at = utcnow()
                return Claim(True, to_job(row))
            if row.status != "queued":
                return Claim(False)
            now = utcnow()
            row.status, row.worker_id, row.heartbeat_at = "running", worker, now
            row.started_at = row.started_at or now
            row.stage, row.message = "starting", f"started by {worker}"
            if row.job_type in jobs.GENERATING_TYPES:
                await self._project_to(db, row, "generating", f"job {row.id} started")
            job = to_job(row)
        await self.publish(row)
        return Claim(True, job)

    async def progress(
        self,
        job_id: int,
        attempt: int,
        *,
        stage: str = "",
        progress: float | None = None,
        message: str = "",
        eta_seconds: float | None = None,
    ) -> bool:
        """Record progress or a heartbeat; return True when the worker must stop."""
        now = time.monotonic()
        write = now - self._last_write.get(job_id, 0.0) >= PROGRESS_WRITE_INTERVAL
        async with self.db.session() as db, db.begin():
            row = await db.get(JobRow, job_id, with_for_update=write)
            if row is None or row.attempt != attempt or row.status != "running":
                return True
            if row.cancel_requested:
                return True
            event = JobEvent(
                id="",
                job_id=job_id,
                time=time.time(),
                status="running",
                stage=stage[:64] or row.stage,
                progress=min(100.0, max(row.progress, progress or 0.0)),
                message=message[:500],
                eta_seconds=eta_seconds,
            )
            if write:
                # Heartbeats and progress reach the database at most every half second.
                row.heartbeat_at = utcnow()
                if progress is not None:
                    row.stage, row.progress = event.stage, event.progress
                    row.message, row.eta_seconds = event.message, event.eta_seconds
                self._last_write[job_id] = now
        if progress is not None:
            await self.events.publish(event)
        return False

    async def complete(
        self, job_id: int, attempt: int, artifacts: list[dict[str, Any]], result: dict[str, Any]
    ) -> Job:
        """Store a job's results and mark it SUCCEEDED (its hold is then captured)."""
        async with self.db.session() as db, db.begin():
            row = await self._running(db, job_id, attempt)
            row.artifacts, row.result = list(artifacts), dict(result)
            row.progress, row.stage = 100.0, "done"
            await self._finish(db, row, "succeeded", "finished", "succeeded")
            if row.job_type in jobs.GENERATING_TYPES:
                project = await self.projects.load(db, row.project_id, SYSTEM)
                project.artifacts, project.latest_job_id = list(artifacts), row.id
            job = to_job(row)
        await self._after_finish(row)
        return job

    async def fail(self, job_id: int, attempt: int, error: str) -> Job:
        """Mark a running job FAILED after its retries (its hold is then released)."""
        async with self.db.session() as db, db.begin():
            row = await self._running(db, job_id, attempt)
            row.error = error[:4000]
            await self._finish(db, row, "failed", "failed", "failed")
            job = to_job(row)
        await self._after_finish(row)
        return job

    async def _running(self, db: AsyncSession, job_id: int, attempt: int) -> JobRow:
        row = await db.get(JobRow, job_id, with_for_update=True)
        if row is None:
            raise errors.NotFound(f"jobs/{job_id} not found")
        if row.status != "running" or row.attempt != attempt:
            raise errors.FailedPrecondition(
                f"job {job_id} attempt {attempt} is not running", reason="STALE_ATTEMPT"
            )
        return row

    async def _finish(
        self, db: AsyncSession, row: JobRow, status: str, message: str, reason: str
    ) -> None:
        """End a job: its status, the hold's fate, and its project's status, in one place."""
        row.status, row.ended_at, row.message = status, utcnow(), message
        row.settlement = "capture" if status == "succeeded" else "release"
        self._last_write.pop(row.id, None)
        project_status = "completed" if status == "succeeded" else "failed"
        await self._project_to(db, row, project_status, f"job {row.id} {reason}")

    async def _after_finish(self, row: JobRow) -> None:
        await self.publish(row)
        await self.settle(row.id)

    async def update_job_status(
        self,
        job_id: int,
        status: str,
        attempt: int,
        *,
        worker: str = "",
        error: str = "",
    ) -> Job:
        """Apply a status a worker reports: RUNNING claims an attempt, FAILED ends it."""
        if status == "running":
            claim = await self.claim(job_id, attempt, worker or "unnamed-worker")
            if not claim.accepted or claim.job is None:
                raise errors.FailedPrecondition(
                    f"job {job_id} attempt {attempt} cannot be claimed", reason="NOT_CLAIMABLE"
                )
            return claim.job
        if status == "failed":
            return await self.fail(job_id, attempt, error or "failed")
        if status == "cancelled":
            return await self.cancel_job(job_id, SYSTEM)
        raise errors.InvalidArgument.field(
            "status", "workers report RUNNING, FAILED or CANCELLED; results go to UpdateJobResult"
        )

    async def update_job_result(
        self, job_id: int, attempt: int, artifacts: list[dict[str, Any]], result: dict[str, Any]
    ) -> Job:
        """Store a finished attempt's results; the job SUCCEEDS."""
        return await self.complete(job_id, attempt, artifacts, result)

    # --- Cancellation -------------------------------------------------------------------------

    async def cancel_job(self, job_id: int, caller: Caller) -> Job:
        """Cancel a queued job at once, or ask a running one to stop at its next checkpoint."""
        async with self.db.session() as db, db.begin():
            row = await db.get(JobRow, job_id, with_for_update=True)
            if row is None or not (caller.is_admin or row.owner_id == caller.user_id):
                raise errors.NotFound(f"jobs/{job_id} not found")
            if row.status in jobs.TERMINAL:
                raise errors.FailedPrecondition(
                    f"the job already ended ({row.status.upper()})", reason="JOB_ENDED"
                )
            row.cancel_requested = True
            queued = row.status == "queued"
            if queued:
                await self._finish(db, row, "cancelled", f"cancelled by {caller.name}", "cancelled")
        if queued:
            await self.queue.remove(row.id, row.attempt)
            await self._after_finish(row)
        else:
            # The worker's progress stream sees this and ends; `stop_cancelled` finishes it.
            await self.publish(row, "cancel requested", cancel_requested=True)
        return to_job(row)

    async def stop_cancelled(self, job_id: int, attempt: int) -> None:
        """Mark a running job CANCELLED once its worker has been told to stop."""
        async with self.db.session() as db, db.begin():
            row = await db.get(JobRow, job_id, with_for_update=True)
            if row is None or row.status != "running" or row.attempt != attempt:
                return
            if not row.cancel_requested:
                return
            await self._finish(db, row, "cancelled", "cancelled", "cancelled")
        await self._after_finish(row)

    # --- Settlement and recovery --------------------------------------------------------------

    async def settle(self, job_id: int) -> bool:
        """Capture or release an ended job's hold; return whether it is settled now."""
        return await settlement.settle(self.db, self.credits, job_id)

    async def recover(self, now: datetime | None = None) -> dict[str, int]:
        """Requeue or fail jobs whose worker went silent, requeue lost entries, settle holds."""
        return await recovery.recover(self, now)
