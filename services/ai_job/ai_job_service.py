"""AIJobService: priced, paid through credit holds, queued by priority, watched live.

Creating a job is a saga (hold the credits, store the job, enqueue it; each failing step undoes
the ones before it): it and retries are in `creation.py`; reads and watches in `reading.py`;
the running side (claims, progress, results, cancellation) in `lifecycle.py`, each ending going
through `ending.py`, which settles holds (`settlement.py`); the periodic repair of what crashed
workers left behind in `recovery.py`; queue statistics in `stats.py`. This class holds the
dependencies and is the one entry point for all of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from services.ai_job import reading, recovery
from services.ai_job.announce import announce, snapshot
from services.ai_job.creation import JobCreation
from services.ai_job.credits_client import CreditsClient, LocalCreditsClient
from services.ai_job.ending import Ending
from services.ai_job.events import EventBus, InMemoryEventBus, JobEvent
from services.ai_job.lifecycle import Claim, Lifecycle
from services.ai_job.models import JobRow
from services.ai_job.progress_stream import Report, StreamOutcome, serve_stream
from services.ai_job.progress_writes import ProgressWrites
from services.ai_job.queue import JobQueue
from services.ai_job.records import Job, JobPage
from services.ai_job.runners import RunnerRegistry
from services.ai_job.stats import QueueStats, queue_stats
from services.common.caller import Caller
from services.common.config import Settings, explicit_settings
from services.common.db import Database
from services.common.pagination import PageTokens
from services.credits.credits_service import CreditsService
from services.project.project_service import ProjectService

# The records stay importable from here, where callers have always found them.
__all__ = ["AIJobService", "Claim", "Job", "JobPage", "QueueStats"]


class AIJobService:
    """The use cases of AI jobs."""

    def __init__(
        self,
        db: Database,
        queue_client: JobQueue,
        *,
        settings: Settings | None = None,
        projects: ProjectService | None = None,
        credits: CreditsClient | None = None,
        events: EventBus | None = None,
        page_secret: bytes | str = b"filmstudio-jobs",
    ) -> None:
        # In-process use, as the product docs show it: defaults, never the environment.
        settings = settings if settings is not None else explicit_settings()
        self.db = db
        self.queue = queue_client
        self.settings = settings
        self.projects = projects or ProjectService(db)
        # In-process use pays through the local ledger; servers pass a gRPC client.
        self.credits = credits or LocalCreditsClient(CreditsService(db, settings))
        self.events = events or InMemoryEventBus(settings.event_stream_maxlen)
        self.runners = RunnerRegistry(diagnostics=settings.job_diagnostics)
        self.page_tokens = PageTokens(page_secret)
        progress_writes = ProgressWrites()
        self.ending = Ending(db, self.projects, self.credits, self.events, progress_writes)
        self.lifecycle = Lifecycle(
            db, queue_client, self.events, self.projects, self.ending, progress_writes
        )
        self.creation = JobCreation(
            db, queue_client, self.events, self.projects, self.credits, self.runners, settings
        )

    # --- Create and retry (see creation.py) ---------------------------------------------------

    async def create_job(
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
        """Price, hold credits, store and queue a job for one of the user's projects.

        Without a priority the job runs on the normal queue.
        """
        return await self.creation.create(
            project_id,
            user_id,
            job_type,
            parameters,
            priority,
            request_id,
            caller=caller,
            retry_of=retry_of,
        )

    async def retry_job(self, job_id: int, caller: Caller, request_id: str = "") -> Job:
        """Run a FAILED or CANCELLED job again as a new job that reuses completed stages."""
        return await self.creation.retry(job_id, caller, request_id)

    # --- Read and watch (see reading.py) ------------------------------------------------------

    async def get_job(self, job_id: int, caller: Caller | None = None) -> Job:
        """Return a job (its owner's, or any for admins and services)."""
        return await reading.get_job(self.db, job_id, caller)

    async def get_user_jobs(
        self,
        user_id: int | None,
        project_id: int | None = None,
        status: str = "",
        job_type: str = "",
        limit: int = 0,
        page_token: str = "",
    ) -> JobPage:
        """List a user's jobs, newest first."""
        return await reading.list_jobs(
            self.db, self.page_tokens, user_id, project_id, status, job_type, limit, page_token
        )

    def watch(
        self, job_id: int, after_event_id: str = "", caller: Caller | None = None
    ) -> AsyncIterator[JobEvent]:
        """Yield every event of a job after an id, live, until its terminal event."""
        return reading.watch(self.db, self.events, job_id, after_event_id, caller)

    def snapshot(self, job: Job) -> JobEvent:
        """Describe a job's current state as an event (for streams that lost their history)."""
        return snapshot(job)

    async def publish(
        self, row: JobRow, message: str = "", *, cancel_requested: bool = False
    ) -> str:
        """Tell watchers where a job stands."""
        return await announce(self.events, row, message, cancel_requested=cancel_requested)

    async def get_queue_stats(self, window_seconds: float | None = None) -> list[QueueStats]:
        """Return per-queue depth, counts, throughput and wait/run percentiles over a window.

        Without a window, the last hour.
        """
        return await queue_stats(self.db, window_seconds)

    # --- The running side (see lifecycle.py) --------------------------------------------------

    async def claim(self, job_id: int, attempt: int, worker: str) -> Claim:
        """Start an attempt for a worker, or refuse if it is not (or no longer) its to run."""
        return await self.lifecycle.claim(job_id, attempt, worker)

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
        return await self.lifecycle.progress(
            job_id,
            attempt,
            stage=stage,
            progress=progress,
            message=message,
            eta_seconds=eta_seconds,
        )

    async def report_progress(self, job_id: int, reports: AsyncIterator[Report]) -> StreamOutcome:
        """Take a worker's progress stream until it ends, or answer early when the job must stop."""
        return await serve_stream(self.lifecycle, job_id, reports)

    async def complete(
        self, job_id: int, attempt: int, artifacts: list[dict[str, Any]], result: dict[str, Any]
    ) -> Job:
        """Store a job's results and mark it SUCCEEDED (its hold is then captured)."""
        return await self.lifecycle.complete(job_id, attempt, artifacts, result)

    async def fail(self, job_id: int, attempt: int, error: str) -> Job:
        """Mark a running job FAILED after its retries (its hold is then released)."""
        return await self.lifecycle.fail(job_id, attempt, error)

    async def update_job_status(
        self, job_id: int, status: str, attempt: int, *, worker: str = "", error: str = ""
    ) -> Job:
        """Apply a status a worker reports: RUNNING claims an attempt, FAILED ends it."""
        return await self.lifecycle.update_job_status(
            job_id, status, attempt, worker=worker, error=error
        )

    async def update_job_result(
        self, job_id: int, attempt: int, artifacts: list[dict[str, Any]], result: dict[str, Any]
    ) -> Job:
        """Store a finished attempt's results; the job SUCCEEDS."""
        return await self.lifecycle.complete(job_id, attempt, artifacts, result)

    async def cancel_job(self, job_id: int, caller: Caller) -> Job:
        """Cancel a queued job at once, or ask a running one to stop at its next checkpoint."""
        return await self.lifecycle.cancel_job(job_id, caller)

    async def stop_cancelled(self, job_id: int, attempt: int) -> None:
        """Mark a running job CANCELLED once its worker has been told to stop."""
        await self.lifecycle.stop_cancelled(job_id, attempt)

    # --- Settlement and recovery (see ending.py and recovery.py) ------------------------------

    async def settle(self, job_id: int) -> bool:
        """Capture or release an ended job's hold; return whether it is settled now."""
        return await self.ending.settle(job_id)

    async def recover(self, now: datetime | None = None) -> dict[str, int]:
        """Requeue or fail jobs whose worker went silent, requeue lost entries, settle holds."""
        return await recovery.recover(
            database=self.db,
            queue=self.queue,
            ending=self.ending,
            heartbeat_timeout_seconds=self.settings.heartbeat_timeout_seconds,
            now=now,
        )
