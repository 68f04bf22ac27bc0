"""Operators' listings across users: failed jobs and the moderation queue (read-only).

Both are keyset pages sealed into tokens bound to their filters, like every listing here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from services.admin.records import FailedJob, FailedJobPage, ProjectPage
from services.ai_job.models import JobRow
from services.ai_job.pricing import JOB_TYPES
from services.ai_job.records import to_job
from services.common import errors
from services.common.db import Database
from services.common.pagination import (
    PageTokens,
    newest_first,
    newest_first_position,
    page_size,
    query_key,
)
from services.project.models import ProjectRow
from services.project.records import to_project


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start is not None and end is not None else None


def to_failed(row: JobRow) -> FailedJob:
    """Copy a failed job's row into a record with its worker and timings."""
    return FailedJob(
        job=to_job(row),
        worker=row.worker_id,
        max_attempts=row.max_attempts,
        queue_wait_seconds=_seconds(row.queued_at or row.created_at, row.started_at),
        run_seconds=_seconds(row.started_at, row.ended_at),
    )


async def failed_jobs(
    database: Database,
    tokens: PageTokens,
    job_type: str,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    page_token: str,
) -> FailedJobPage:
    """Return one page of failed jobs, newest ending first."""
    if job_type and job_type not in JOB_TYPES:
        raise errors.InvalidArgument.field("job_type", "is not a job type")
    if start is not None and end is not None and start >= end:
        raise errors.InvalidArgument.field("end_time", "must be later than start_time")
    size = page_size(limit)
    key = query_key(list="admin-failed-jobs", type=job_type, start=start, end=end)
    position = tokens.decode(page_token, key)
    query = select(JobRow).where(JobRow.status == "failed", JobRow.ended_at.is_not(None))
    if job_type:
        query = query.where(JobRow.job_type == job_type)
    if start is not None:
        query = query.where(JobRow.ended_at >= start)
    if end is not None:
        query = query.where(JobRow.ended_at < end)
    query = newest_first(query, JobRow.ended_at, JobRow.id, position).limit(size + 1)
    async with database.reader() as db:
        rows = list((await db.scalars(query)).all())
    page = rows[:size]
    last = page[-1] if page else None
    token = (
        tokens.encode(newest_first_position(last.ended_at, last.id), key)
        if last is not None and last.ended_at is not None and len(rows) > size
        else ""
    )
    return FailedJobPage([to_failed(row) for row in page], token)


async def moderation_queue(
    database: Database, tokens: PageTokens, limit: int, page_token: str
) -> ProjectPage:
    """Return one page of live projects waiting for review, longest waiting first."""
    size = page_size(limit)
    key = query_key(list="admin-moderation")
    position = tokens.decode(page_token, key)
    query = select(ProjectRow).where(
        ProjectRow.status == "pending_review", ProjectRow.deleted_at.is_(None)
    )
    if position is not None:
        after = datetime.fromisoformat(str(position["t"]))
        query = query.where(
            (ProjectRow.updated_at > after)
            | ((ProjectRow.updated_at == after) & (ProjectRow.id > int(position["id"])))
        )
    query = query.order_by(ProjectRow.updated_at, ProjectRow.id).limit(size + 1)
    async with database.reader() as db:
        rows = list((await db.scalars(query)).all())
    page = rows[:size]
    token = (
        tokens.encode(newest_first_position(page[-1].updated_at, page[-1].id), key)
        if len(rows) > size
        else ""
    )
    return ProjectPage([to_project(row) for row in page], token)
