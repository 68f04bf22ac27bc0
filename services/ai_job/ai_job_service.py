"""AIJobService: priced, paid through credit holds, queued by priority, watched live.

Creating a job is a saga (hold the credits, store the job, enqueue it; each failing step undoes
the ones before it): it and retries are in `creation.py`, queue statistics in `stats.py`, the
running side (claims, progress, results, cancellation) in `lifecycle.py`, with the settlement of
holds in `settlement.py` and recovery in `recovery.py`. This class is the one entry point for
all of them, and answers reads and watches itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from services.ai_job import creation, jobs
from services.ai_job.credits_client import CreditsClient, LocalCreditsClient
from services.ai_job.events import EventBus, InMemoryEventBus, JobEvent, event_order
from services.ai_job.jobs import Job, to_job
from services.ai_job.lifecycle import Lifecycle
from services.ai_job.models import JobRow
from services.ai_job.queue import JobQueue
from services.ai_job.stats import QueueStats, queue_stats
from services.common import errors
from services.common.caller import Caller
from services.common.config import Settings, load_settings
from services.common.db import Database
from services.common.pagination import (
    PageTokens,
    newest_first,
    newest_first_position,
    page_size,
    query_key,
)
from services.common.records import Record
from services.project.project_service import ProjectService


@dataclass(frozen=True)
class JobPage(Record):
    """One page of jobs."""

    jobs: list[Job]
    next_page_token: str


class AIJobService(Lifecycle):
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
        settings = settings or load_settings()
        if credits is None:
            # In-process use, as the product docs show it: pay through the local ledger.
            from services.credits.credits_service import CreditsService

            credits = LocalCreditsClient(CreditsService(db, settings))
        super().__init__(
            db,
            queue_client,
            settings=settings,
            projects=projects or ProjectService(db),
            credits=credits,
            events=events or InMemoryEventBus(settings.event_stream_maxlen),
        )
        self.page_tokens = PageTokens(page_secret)

    # --- Create and retry -------------------------------------------------------------------

    async def create_job(
        self,
        project_id: int,
        user_id: int,
        job_type: str,
        parameters: dict[str, Any] | None = None,
        priority: int = 2,
        request_id: str = "",
        *,
        caller: Caller | None = None,
        retry_of: JobRow | None = None,
    ) -> Job:
        """Price, hold credits, store and queue a job for one of the user's projects."""
        return await creation.create(
            self, project_id, user_id, job_type, parameters, priority, request_id, caller, retry_of
        )

    async def retry_job(self, job_id: int, caller: Caller, request_id: str = "") -> Job:
        """Run a FAILED or CANCELLED job again as a new job that reuses completed stages."""
        return await creation.retry(self, job_id, caller, request_id)

    # --- Read ---------------------------------------------------------------------------------

    async def get_job(self, job_id: int, caller: Caller | None = None) -> Job:
        """Return a job (its owner's, or any for admins and services)."""
        async with self.db.reader() as db:
            row = await db.get(JobRow, job_id)
        if row is None or (
            caller is not None and not caller.is_admin and row.owner_id != caller.user_id
        ):
            raise errors.NotFound(f"jobs/{job_id} not found")
        return to_job(row)

    async def get_user_jobs(
        self,
        user_id: int,
        project_id: int | None = None,
        status: str = "",
        job_type: str = "",
        limit: int = 0,
        page_token: str = "",
    ) -> JobPage:
        """List a user's jobs, newest first."""
        if status and status not in jobs.STATUSES:
            raise errors.InvalidArgument.field("status", "is not a job status")
        size = page_size(limit)
        key = query_key(list="jobs", user=user_id, project=project_id, status=status, type=job_type)
        position = self.page_tokens.decode(page_token, key)
        query = select(JobRow).where(JobRow.owner_id == user_id)
        if project_id is not None:
            query = query.where(JobRow.project_id == project_id)
        if status:
            query = query.where(JobRow.status == status)
        if job_type:
            query = query.where(JobRow.job_type == job_type)
        query = newest_first(query, JobRow.created_at, JobRow.id, position).limit(size + 1)
        async with self.db.reader() as db:
            rows = list((await db.scalars(query)).all())
        page = rows[:size]
        token = (
            self.page_tokens.encode(newest_first_position(page[-1].created_at, page[-1].id), key)
            if len(rows) > size
            else ""
        )
        return JobPage([to_job(r) for r in page], token)

    async def watch(
        self, job_id: int, after_event_id: str = "", caller: Caller | None = None
    ) -> AsyncIterator[JobEvent]:
        """Yield every event of a job after an id, live, until its terminal event."""
        try:
            floor = event_order(after_event_id)
        except ValueError:
            raise errors.InvalidArgument.field("after_event_id", "is not an event id") from None
        await self.get_job(job_id, caller)
        async with self.events.follow(job_id) as live:
            for event in await self.events.history(job_id, after_event_id):
                floor = event_order(event.id)
                yield event
                if event.terminal:
                    return
            job = await self.get_job(job_id)
            if job.status in jobs.TERMINAL:
                # The stream was trimmed or expired: the database still knows how it ended.
                yield self.snapshot(job)
                return
            while True:
                event = await live.get()
                if event_order(event.id) <= floor:
                    continue
                floor = event_order(event.id)
                yield event
                if event.terminal:
                    return

    def snapshot(self, job: Job) -> JobEvent:
        """Describe a job's current state as an event (for streams that lost their history)."""
        return JobEvent(
            id=f"{int((job.ended_at or job.created_at).timestamp() * 1000)}-0",
            job_id=job.id,
            time=(job.ended_at or job.created_at).timestamp(),
            status=job.status,
            stage=job.stage,
            progress=job.progress,
            message=job.message,
            terminal=job.status in jobs.TERMINAL,
        )

    async def get_queue_stats(self, window_seconds: float = 3600.0) -> list[QueueStats]:
        """Return per-queue depth, counts, throughput and wait/run percentiles over a window."""
        return await queue_stats(self.db, window_seconds)
