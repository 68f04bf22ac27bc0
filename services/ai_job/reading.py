"""Reading jobs: one job, a user's jobs a page at a time, and a job's events as they happen."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import bindparam, select

from services.ai_job.announce import snapshot
from services.ai_job.events import EventBus, JobEvent, event_order
from services.ai_job.models import JobRow
from services.ai_job.records import STATUSES, TERMINAL, Job, JobPage, to_job
from services.common import errors
from services.common.caller import Caller
from services.common.db import Database
from services.common.pagination import (
    PageTokens,
    newest_first,
    newest_first_position,
    page_size,
    query_key,
)

# GetJob's read, and the check of every watch: one Core statement on the hot-read path.
_BY_ID = select(*JobRow.__table__.c).where(JobRow.__table__.c.id == bindparam("id"))


async def get_job(database: Database, job_id: int, caller: Caller | None = None) -> Job:
    """Return a job the caller may see (any, without a caller)."""
    row = await database.read_row(_BY_ID, {"id": job_id}, (f"jobs:{job_id}",))
    if row is None or (caller is not None and not caller.may_act_for(row.owner_id)):
        raise errors.NotFound(f"jobs/{job_id} not found")
    return row.derived(to_job)


async def list_jobs(
    database: Database,
    page_tokens: PageTokens,
    user_id: int | None,
    project_id: int | None = None,
    status: str = "",
    job_type: str = "",
    limit: int = 0,
    page_token: str = "",
) -> JobPage:
    """List a user's jobs, newest first."""
    if user_id is None:
        raise errors.InvalidArgument.field("owner", "services list jobs through a user")
    if status and status not in STATUSES:
        raise errors.InvalidArgument.field("status", "is not a job status")
    size = page_size(limit)
    key = query_key(list="jobs", user=user_id, project=project_id, status=status, type=job_type)
    position = page_tokens.decode(page_token, key)
    query = select(JobRow).where(JobRow.owner_id == user_id)
    if project_id is not None:
        query = query.where(JobRow.project_id == project_id)
    if status:
        query = query.where(JobRow.status == status)
    if job_type:
        query = query.where(JobRow.job_type == job_type)
    query = newest_first(query, JobRow.created_at, JobRow.id, position).limit(size + 1)
    async with database.reader() as db:
        rows = list((await db.scalars(query)).all())
    page = rows[:size]
    token = (
        page_tokens.encode(newest_first_position(page[-1].created_at, page[-1].id), key)
        if len(rows) > size
        else ""
    )
    return JobPage([to_job(r) for r in page], token)


async def watch(
    database: Database,
    events: EventBus,
    job_id: int,
    after_event_id: str = "",
    caller: Caller | None = None,
) -> AsyncIterator[JobEvent]:
    """Yield every event of a job after an id, live, until its terminal event."""
    try:
        floor = event_order(after_event_id)
    except ValueError:
        raise errors.InvalidArgument.field("after_event_id", "is not an event id") from None
    await get_job(database, job_id, caller)
    async with events.follow(job_id) as live:
        for event in await events.history(job_id, after_event_id):
            floor = event.order
            yield event
            if event.terminal:
                return
        job = await get_job(database, job_id)
        if job.status in TERMINAL:
            # The stream was trimmed or expired: the database still knows how it ended.
            yield snapshot(job)
            return
        while True:
            event = await live.get()
            if event.order <= floor:
                continue
            floor = event.order
            yield event
            if event.terminal:
                return
