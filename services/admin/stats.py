"""System statistics for operators: one aggregate query per figure group, no rows loaded.

These are read models across the domains' tables (read-only; every change goes through the
owning domain's facade). Each query returns counts or sums computed by the database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.admin.records import JobCount, SystemStats
from services.ai_job.models import JobRow
from services.common.db import Database, utcnow
from services.credits.ledger import CONSUMED, ISSUED
from services.credits.models import EntryRow, TransactionRow, WalletRow
from services.project.models import ProjectRow
from services.user.models import UserRow


def month_start(now: datetime) -> datetime:
    """Return the first instant of `now`'s calendar month, UTC."""
    return datetime(now.year, now.month, 1, tzinfo=UTC)


async def _users(db: AsyncSession, now: datetime) -> tuple[int, int, int, int]:
    row = (
        await db.execute(
            select(
                func.count(),
                func.count().filter(UserRow.last_login_at >= now - timedelta(days=30)),
                func.count().filter(UserRow.state == "suspended"),
                func.count().filter(UserRow.created_at >= now - timedelta(days=7)),
            )
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


async def _projects(db: AsyncSession) -> dict[str, int]:
    rows = await db.execute(
        select(ProjectRow.status, func.count())
        .where(ProjectRow.deleted_at.is_(None))
        .group_by(ProjectRow.status)
    )
    return {status: int(count) for status, count in rows.all()}


async def _jobs(db: AsyncSession, now: datetime) -> tuple[list[JobCount], int, int]:
    rows = await db.execute(
        select(JobRow.job_type, JobRow.status, func.count())
        .group_by(JobRow.job_type, JobRow.status)
        .order_by(JobRow.job_type, JobRow.status)
    )
    counts = [JobCount(job_type, status, int(count)) for job_type, status, count in rows.all()]
    ended = (
        await db.execute(
            select(func.count(), func.count().filter(JobRow.status == "failed")).where(
                JobRow.ended_at >= now - timedelta(hours=24)
            )
        )
    ).one()
    return counts, int(ended[0]), int(ended[1])


async def _credits(db: AsyncSession, now: datetime) -> tuple[int, int, int, int]:
    held = (
        WalletRow.monthly
        + WalletRow.bonus
        + WalletRow.purchased
        + WalletRow.held_monthly
        + WalletRow.held_bonus
        + WalletRow.held_purchased
    )
    outstanding = await db.scalar(select(func.coalesce(func.sum(held), 0)))
    since_month, since_30d = month_start(now), now - timedelta(days=30)
    entries = (
        select(
            func.coalesce(
                func.sum(EntryRow.amount).filter(
                    EntryRow.debit == ISSUED, TransactionRow.created_at >= since_month
                ),
                0,
            ),
            func.coalesce(
                func.sum(EntryRow.amount).filter(
                    EntryRow.credit == CONSUMED, TransactionRow.created_at >= since_month
                ),
                0,
            ),
            func.coalesce(
                func.sum(EntryRow.amount).filter(
                    EntryRow.credit == CONSUMED, TransactionRow.created_at >= since_30d
                ),
                0,
            ),
        )
        .join(TransactionRow, TransactionRow.id == EntryRow.transaction_id)
        .where(TransactionRow.created_at >= min(since_month, since_30d))
    )
    issued, consumed_month, consumed_30d = (await db.execute(entries)).one()
    return int(outstanding or 0), int(issued), int(consumed_month), int(consumed_30d)


async def system_stats(database: Database, now: datetime | None = None) -> SystemStats:
    """Return the system's counts, each computed by the database."""
    now = now or utcnow()
    async with database.reader() as db:
        total, active, suspended, new = await _users(db, now)
        projects = await _projects(db)
        job_counts, ended_24h, failed_24h = await _jobs(db, now)
        outstanding, issued, consumed_month, consumed_30d = await _credits(db, now)
    by_status: dict[str, int] = {}
    for count in job_counts:
        by_status[count.status] = by_status.get(count.status, 0) + count.count
    return SystemStats(
        total_users=total,
        active_users_30d=active,
        suspended_users=suspended,
        new_users_7d=new,
        total_projects=sum(projects.values()),
        projects_by_status=projects,
        jobs_by_status=by_status,
        jobs_by_type=job_counts,
        jobs_ended_24h=ended_24h,
        job_failure_rate_24h=failed_24h / ended_24h if ended_24h else 0.0,
        queue_depth=by_status.get("queued", 0),
        jobs_running=by_status.get("running", 0),
        credits_outstanding=outstanding,
        credits_issued_month=issued,
        credits_consumed_month=consumed_month,
        credits_consumed_30d=consumed_30d,
        observed_at=now,
    )
