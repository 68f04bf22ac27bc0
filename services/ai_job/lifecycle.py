"""The running side of jobs: claims, progress, results and cancellation.

Every terminal transition happens once, in a transaction that checks the job is still RUNNING
(or QUEUED) at the reporting attempt, and goes through `Ending` (see `ending.py`), which
records the hold's fate there and settles it after the commit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.ai_job.announce import announce
from services.ai_job.ending import SYSTEM, Ending
from services.ai_job.events import EventBus, JobEvent
from services.ai_job.models import JobRow
from services.ai_job.progress_writes import ProgressWrites
from services.ai_job.queue import JobQueue
from services.ai_job.records import GENERATING_TYPES, TERMINAL, Job, to_job
from services.common import errors
from services.common.caller import Caller
from services.common.db import Database, utcnow
from services.project.project_service import ProjectService

# What a report between writes checks, always from the database (never a kept read): a
# cancel or a new attempt must stop the worker at its next report.
_RUN_STATE = select(
    JobRow.attempt, JobRow.status, JobRow.cancel_requested, JobRow.stage, JobRow.progress
).where(JobRow.id == bindparam("id"))


class _RunState(Protocol):
    """The columns of a job a report checks (a row or a read of _RUN_STATE)."""

    attempt: int
    status: str
    cancel_requested: bool
    stage: str
    progress: float


def _must_stop(state: _RunState, attempt: int) -> bool:
    """Tell whether a worker reporting for `attempt` must stop: not its attempt, or cancelled."""
    return state.attempt != attempt or state.status != "running" or state.cancel_requested


def _progress_event(
    job_id: int,
    state: _RunState,
    stage: str,
    progress: float | None,
    message: str,
    eta_seconds: float | None,
) -> JobEvent:
    """Return the event a report announces: progress never goes back, a blank stage keeps its."""
    return JobEvent(
        id="",
        job_id=job_id,
        time=time.time(),
        status="running",
        stage=stage[:64] or state.stage,
        progress=min(100.0, max(state.progress, progress or 0.0)),
        message=message[:500],
        eta_seconds=eta_seconds,
    )


@dataclass
class Claim:
    """The answer to a worker that starts (or resumes) an attempt."""

    accepted: bool
    job: Job | None = None


class Lifecycle:
    """State changes of running jobs, reported by workers and their progress streams."""

    def __init__(
        self,
        database: Database,
        queue: JobQueue,
        events: EventBus,
        projects: ProjectService,
        ending: Ending,
        progress_writes: ProgressWrites,
    ) -> None:
        self.database = database
        self.queue = queue
        self.events = events
        self.projects = projects
        self.ending = ending
        self.progress_writes = progress_writes

    # --- Worker side ------------------------------------------------------------------------

    async def claim(self, job_id: int, attempt: int, worker: str) -> Claim:
        """Start an attempt for a worker, or refuse if it is not (or no longer) its to run."""
        async with self.database.session() as db, db.begin():
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
            if row.job_type in GENERATING_TYPES:
                await self.ending.move_project(db, row, "generating", f"job {row.id} started")
            job = to_job(row)
        await announce(self.events, row)
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
        if not self.progress_writes.due(job_id, now):
            # Between writes a report only needs the job's state: one hot read, no
            # transaction (BEGIN, SELECT, COMMIT cost ~3 ms before every watcher heard it).
            state = await self.database.read_row(_RUN_STATE, {"id": job_id})
            if state is None or _must_stop(state, attempt):
                return True
            if progress is not None:
                await self.events.publish(
                    _progress_event(job_id, state, stage, progress, message, eta_seconds)
                )
            return False
        async with self.database.session() as db, db.begin():
            row = await db.get(JobRow, job_id, with_for_update=True)
            if row is None or _must_stop(row, attempt):
                return True
            event = _progress_event(job_id, row, stage, progress, message, eta_seconds)
            # Heartbeats and progress reach the database at most every half second.
            row.heartbeat_at = utcnow()
            if progress is not None:
                row.stage, row.progress = event.stage, event.progress
                row.message, row.eta_seconds = event.message, event.eta_seconds
            self.progress_writes.written(job_id, now)
        if progress is not None:
            await self.events.publish(event)
        return False

    async def complete(
        self, job_id: int, attempt: int, artifacts: list[dict[str, Any]], result: dict[str, Any]
    ) -> Job:
        """Store a job's results and mark it SUCCEEDED (its hold is then captured)."""
        async with self.database.session() as db, db.begin():
            row = await _running(db, job_id, attempt)
            row.artifacts, row.result = list(artifacts), dict(result)
            row.progress, row.stage = 100.0, "done"
            await self.ending.finish(db, row, "succeeded", "finished", "succeeded")
            if row.job_type in GENERATING_TYPES:
                # In this transaction: the job succeeds and its project shows the outputs at once.
                await self.projects.record_outputs(row.project_id, row.id, artifacts, session=db)
            job = to_job(row)
        await self.ending.announce_end(row)
        return job

    async def fail(self, job_id: int, attempt: int, error: str) -> Job:
        """Mark a running job FAILED after its retries (its hold is then released)."""
        async with self.database.session() as db, db.begin():
            row = await _running(db, job_id, attempt)
            row.error = error[:4000]
            await self.ending.finish(db, row, "failed", "failed", "failed")
            job = to_job(row)
        await self.ending.announce_end(row)
        return job

    async def update_job_status(
        self, job_id: int, status: str, attempt: int, *, worker: str = "", error: str = ""
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

    # --- Cancellation -------------------------------------------------------------------------

    async def cancel_job(self, job_id: int, caller: Caller) -> Job:
        """Cancel a queued job at once, or ask a running one to stop at its next checkpoint."""
        async with self.database.session() as db, db.begin():
            row = await db.get(JobRow, job_id, with_for_update=True)
            if row is None or not caller.may_act_for(row.owner_id):
                raise errors.NotFound(f"jobs/{job_id} not found")
            if row.status in TERMINAL:
                raise errors.FailedPrecondition(
                    f"the job already ended ({row.status.upper()})", reason="JOB_ENDED"
                )
            row.cancel_requested = True
            queued = row.status == "queued"
            if queued:
                await self.ending.finish(
                    db, row, "cancelled", f"cancelled by {caller.name}", "cancelled"
                )
        if queued:
            await self.queue.remove(row.id, row.attempt)
            await self.ending.announce_end(row)
        else:
            # The worker's progress stream sees this and ends; `stop_cancelled` finishes it.
            await announce(self.events, row, "cancel requested", cancel_requested=True)
        return to_job(row)

    async def stop_cancelled(self, job_id: int, attempt: int) -> None:
        """Mark a running job CANCELLED once its worker has been told to stop."""
        async with self.database.session() as db, db.begin():
            row = await db.get(JobRow, job_id, with_for_update=True)
            if row is None or row.status != "running" or row.attempt != attempt:
                return
            if not row.cancel_requested:
                return
            await self.ending.finish(db, row, "cancelled", "cancelled", "cancelled")
        await self.ending.announce_end(row)


async def _running(db: AsyncSession, job_id: int, attempt: int) -> JobRow:
    """Lock a job that must be RUNNING at this attempt (a stale worker's report is refused)."""
    row = await db.get(JobRow, job_id, with_for_update=True)
    if row is None:
        raise errors.NotFound(f"jobs/{job_id} not found")
    if row.status != "running" or row.attempt != attempt:
        raise errors.FailedPrecondition(
            f"job {job_id} attempt {attempt} is not running", reason="STALE_ATTEMPT"
        )
    return row
