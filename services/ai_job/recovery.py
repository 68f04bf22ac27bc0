"""Recovery: the periodic sweep that repairs what crashed workers and processes left behind.

A running job whose worker went silent is requeued, failed or cancelled; a queued job whose
queue entry was lost is enqueued again; an ended job whose hold was never settled is settled.
A silent job is rechecked under its row lock, so sweeps in several processes act on it once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from services.ai_job.announce import announce
from services.ai_job.ending import Ending
from services.ai_job.models import JobRow
from services.ai_job.queue import JobQueue
from services.common.db import Database, utcnow

log = logging.getLogger(__name__)


async def recover(
    *,
    database: Database,
    queue: JobQueue,
    ending: Ending,
    heartbeat_timeout_seconds: float,
    now: datetime | None = None,
) -> dict[str, int]:
    """Requeue or fail jobs whose worker went silent, requeue lost entries, settle holds."""
    now = now or utcnow()
    silent_since = now - timedelta(seconds=heartbeat_timeout_seconds)
    counts = {
        "requeued": 0,
        "failed": 0,
        "cancelled": 0,
        "skipped": 0,
        "reenqueued": 0,
        "settled": 0,
    }
    async with database.reader() as db:
        stale = list(
            await db.scalars(
                select(JobRow.id).where(
                    JobRow.status == "running", JobRow.heartbeat_at < silent_since
                )
            )
        )
        waiting = list(
            await db.execute(
                select(JobRow.id, JobRow.attempt, JobRow.priority).where(
                    JobRow.status == "queued", JobRow.queued_at < now - timedelta(seconds=30)
                )
            )
        )
        unsettled = list(
            await db.scalars(
                select(JobRow.id).where(JobRow.settlement != "", JobRow.settled_at.is_(None))
            )
        )
    for job_id in stale:
        counts[await _recover_silent(database, queue, ending, job_id, silent_since)] += 1
    for job_id, attempt, priority in waiting:
        if not await queue.contains(job_id, attempt):
            await queue.enqueue(job_id, attempt, priority)
            counts["reenqueued"] += 1
    for job_id in unsettled:
        counts["settled"] += await ending.settle(job_id)
    if any(v for k, v in counts.items() if k != "skipped"):
        log.info("job recovery", extra=counts)
    return counts


async def _recover_silent(
    database: Database, queue: JobQueue, ending: Ending, job_id: int, silent_since: datetime
) -> str:
    """Decide the fate of one job whose worker stopped heartbeating."""
    async with database.session() as db, db.begin():
        row = await db.get(JobRow, job_id, with_for_update=True)
        if (
            row is None
            or row.status != "running"
            or (row.heartbeat_at is not None and row.heartbeat_at >= silent_since)
        ):
            return "skipped"  # another process dealt with it meanwhile
        if row.cancel_requested:
            await ending.finish(db, row, "cancelled", "cancelled (worker lost)", "cancelled")
            outcome = "cancelled"
        elif row.attempt < row.max_attempts:
            row.attempt += 1
            row.status, row.worker_id, row.heartbeat_at = "queued", "", None
            row.queued_at = utcnow()
            row.message = f"worker lost; attempt {row.attempt} queued"
            outcome = "requeued"
        else:
            row.error = "the worker stopped responding on every attempt"
            await ending.finish(db, row, "failed", "failed (worker lost)", "lost its worker")
            outcome = "failed"
    if outcome == "requeued":
        await queue.enqueue(row.id, row.attempt, row.priority)
        await announce(ending.events, row)
    else:
        await ending.announce_end(row)
    log.warning("job worker lost", extra={"job_id": job_id, "outcome": outcome})
    return outcome
