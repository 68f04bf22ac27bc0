"""AIJobService: priced, paid through credit holds, queued by priority, watched live.

Creating a job is a saga: hold the credits (CreditsService over gRPC), store the job and queue
the project in one transaction, then enqueue; each step that fails undoes the ones before it.
The running side (claims, progress, results, cancellation, recovery) is in `lifecycle.py`.
"""

from __future__ import annotations

import logging
import secrets
import statistics
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from services.ai_job import jobs
from services.ai_job.credits_client import CreditsClient, LocalCreditsClient
from services.ai_job.events import EventBus, InMemoryEventBus, JobEvent, event_order
from services.ai_job.jobs import Job, to_job
from services.ai_job.lifecycle import Lifecycle
from services.ai_job.models import JobRow
from services.ai_job.pricing import price
from services.ai_job.queue import QUEUES, JobQueue
from services.common import errors
from services.common.config import Settings, load_settings
from services.common.db import Database, utcnow
from services.common.idempotency import fingerprint, reused_key
from services.common.pagination import (
    PageTokens,
    newest_first,
    newest_first_position,
    page_size,
    query_key,
)
from services.common.records import Record
from services.project.project_service import Caller, ProjectService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobPage(Record):
    """One page of jobs."""

    jobs: list[Job]
    next_page_token: str


@dataclass(frozen=True)
class QueueStats(Record):
    """Depth and performance of one priority queue over a window."""

    queue: str
    queued: int
    running: int
    succeeded: int
    failed: int
    throughput_per_minute: float
    wait_p50: float
    wait_p95: float
    run_p50: float
    run_p95: float


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


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

    # --- Create ---------------------------------------------------------------------------

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
        parameters = dict(parameters or {})
        if "duration" in parameters:  # the product docs' name for it
            parameters["duration_seconds"] = parameters.pop("duration")
        caller = caller or Caller(user_id)
        jobs.check_request(job_type, priority, parameters, self.settings.job_diagnostics)
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
        async with self.db.reader() as db:
            if request_id:
                existing = await db.scalar(
                    select(JobRow).where(
                        JobRow.owner_id == user_id, JobRow.request_id == request_id
                    )
                )
                if existing is not None:
                    if existing.request_fingerprint != digest:
                        raise reused_key(request_id)
                    return to_job(existing)
            project = await self.projects.get_project(project_id, caller)
        if project.deleted_at is not None:
            raise errors.NotFound(f"projects/{project_id} not found")
        self._check_project_ready(job_type, project.status)
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
            job_type, merged["duration_seconds"], merged["resolution"], self.settings.job_costs
        )
        hold_key = f"job-hold:{project.owner_id}:{request_id or job_id}"
        reservation = await self.credits.reserve(
            project.owner_id, cost, job_id, self.settings.job_hold_ttl_seconds, hold_key
        )
        try:
            row = await self._store(
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
            await self._release_quietly(reservation, "job creation failed")
            raise
        try:
            await self.queue.enqueue(row.id, row.attempt, row.priority)
        except Exception as error:
            await self._unstore(row)
            await self._release_quietly(reservation, "enqueue failed")
            log.exception("enqueue failed; job creation undone", extra={"job_id": row.id})
            raise errors.Unavailable(
                "the job queue is unavailable; nothing was charged", retry_after_seconds=5
            ) from error
        await self.publish(row, "job queued")
        log.info("job created", extra={"job_id": row.id, "job_type": job_type, "cost": cost})
        return to_job(row)

    @staticmethod
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
        self,
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
        async with self.db.session() as db, db.begin():
            project = await self.projects.load(db, project_id, caller)
            self._check_project_ready(job_type, project.status)
            before = project.status
            if job_type in jobs.GENERATING_TYPES:
                await self.projects.transition(
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
                max_attempts=self.settings.job_max_attempts,
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

    async def _unstore(self, row: JobRow) -> None:
        """Undo `_store`: delete the job and put the project back where it was."""
        async with self.db.session() as db, db.begin():
            await db.execute(delete(JobRow).where(JobRow.id == row.id))
            if row.job_type in jobs.GENERATING_TYPES:
                project = await self.projects.load(db, row.project_id, Caller(None, True))
                project.status = row.project_status_before
                project.version += 1

    async def _release_quietly(self, reservation: str, reason: str) -> None:
        try:
            await self.credits.release(reservation, reason)
        except errors.DomainError:
            # The hold expires by itself after its TTL; nothing is lost, only delayed.
            log.exception("could not release a hold", extra={"reservation": reservation})

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
        since = utcnow() - timedelta(seconds=window_seconds)
        async with self.db.reader() as db:
            live = (
                await db.execute(
                    select(JobRow.priority, JobRow.status).where(
                        JobRow.status.in_(("queued", "running"))
                    )
                )
            ).all()
            ended = list(
                (
                    await db.scalars(
                        select(JobRow)
                        .where(JobRow.ended_at >= since)
                        .order_by(JobRow.ended_at.desc())
                        .limit(50_000)
                    )
                ).all()
            )
        stats = []
        for priority, name in QUEUES.items():
            mine = [r for r in ended if r.priority == priority]
            waits = [(r.started_at - r.created_at).total_seconds() for r in mine if r.started_at]
            runs = [
                (r.ended_at - r.started_at).total_seconds()
                for r in mine
                if r.started_at and r.ended_at
            ]
            stats.append(
                QueueStats(
                    queue=name,
                    queued=sum(1 for p, s in live if p == priority and s == "queued"),
                    running=sum(1 for p, s in live if p == priority and s == "running"),
                    succeeded=sum(1 for r in mine if r.status == "succeeded"),
                    failed=sum(1 for r in mine if r.status == "failed"),
                    throughput_per_minute=len(mine) / (window_seconds / 60),
                    wait_p50=_percentile(waits, 50),
                    wait_p95=_percentile(waits, 95),
                    run_p50=_percentile(runs, 50),
                    run_p95=_percentile(runs, 95),
                )
            )
        return stats

    # --- Retry ----------------------------------------------------------------------------------

    async def retry_job(self, job_id: int, caller: Caller, request_id: str = "") -> Job:
        """Run a FAILED or CANCELLED job again as a new job that reuses completed stages."""
        async with self.db.reader() as db:
            row = await db.get(JobRow, job_id)
        if row is None or not (caller.is_admin or row.owner_id == caller.user_id):
            raise errors.NotFound(f"jobs/{job_id} not found")
        if row.status not in ("failed", "cancelled"):
            raise errors.FailedPrecondition(
                f"only a FAILED or CANCELLED job can be retried, not {row.status.upper()}",
                reason="JOB_NOT_RETRYABLE",
            )
        parameters = {k: v for k, v in row.parameters.items() if k != "chain_root"}
        return await self.create_job(
            row.project_id,
            row.owner_id,
            row.job_type,
            parameters,
            row.priority,
            request_id or f"retry-of-{row.id}",
            caller=caller,
            retry_of=row,
        )
