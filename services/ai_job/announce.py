"""What watchers are told: a job's state as an event."""

from __future__ import annotations

import time

from services.ai_job.events import EventBus, JobEvent
from services.ai_job.models import JobRow
from services.ai_job.records import TERMINAL, Job


async def announce(
    events: EventBus, row: JobRow, message: str = "", *, cancel_requested: bool = False
) -> str:
    """Tell watchers where a job stands."""
    return await events.publish(
        JobEvent(
            id="",
            job_id=row.id,
            time=time.time(),
            status=row.status,
            stage=row.stage,
            progress=row.progress,
            message=message or row.message,
            eta_seconds=row.eta_seconds,
            terminal=row.status in TERMINAL,
            cancel_requested=cancel_requested,
        )
    )


def snapshot(job: Job) -> JobEvent:
    """Describe a job's current state as an event (for streams that lost their history)."""
    return JobEvent(
        id=f"{int((job.ended_at or job.created_at).timestamp() * 1000)}-0",
        job_id=job.id,
        time=(job.ended_at or job.created_at).timestamp(),
        status=job.status,
        stage=job.stage,
        progress=job.progress,
        message=job.message,
        terminal=job.status in TERMINAL,
    )
