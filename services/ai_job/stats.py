"""Queue statistics for operators: depth, outcomes, throughput and wait/run percentiles."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from services.ai_job.models import JobRow
from services.ai_job.queue import QUEUES
from services.common import errors
from services.common.db import Database, utcnow
from services.common.records import Record

# Without a window, statistics cover the last hour.
DEFAULT_WINDOW_SECONDS = 3600.0


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


async def queue_stats(database: Database, window_seconds: float | None) -> list[QueueStats]:
    """Return per-queue depth, counts, throughput and wait/run percentiles over a window."""
    if window_seconds is None:
        window_seconds = DEFAULT_WINDOW_SECONDS
    if window_seconds <= 0:
        raise errors.InvalidArgument.field("window", "must be positive")
    since = utcnow() - timedelta(seconds=window_seconds)
    async with database.reader() as db:
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
            (r.ended_at - r.started_at).total_seconds() for r in mine if r.started_at and r.ended_at
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


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]
