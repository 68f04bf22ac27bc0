"""The server side of a worker's progress stream: heartbeats in, cancellation out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from services.ai_job.events import JobEvent
from services.ai_job.lifecycle import Lifecycle
from services.common import errors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Report:
    """One message of a worker's stream."""

    name: str = ""
    attempt: int = 0
    worker: str = ""
    stage: str = ""
    progress: float | None = None
    message: str = ""
    eta_seconds: float | None = None
    heartbeat: bool = False


@dataclass(frozen=True)
class StreamOutcome:
    """How the stream ended: told to stop, and how many reports were taken."""

    cancel_requested: bool
    accepted: int


async def _cancel_signal(events: asyncio.Queue[JobEvent]) -> None:
    """Return when the job's events say it must stop."""
    while True:
        event = await events.get()
        if event.cancel_requested or event.terminal:
            return


async def serve_stream(
    lifecycle: Lifecycle, job_id: int, reports: AsyncIterator[Report]
) -> StreamOutcome:
    """Take a worker's reports until it finishes, or answer early when the job must stop."""
    first = await anext(reports, None)
    if first is None:
        raise errors.InvalidArgument.field("name", "the first message must name the job")
    attempt = first.attempt
    accepted = 0
    async with lifecycle.events.follow(job_id) as events:
        # Checked after following, so a cancel between the two cannot slip past.
        if await lifecycle.progress(job_id, attempt):
            await lifecycle.stop_cancelled(job_id, attempt)
            return StreamOutcome(True, accepted)
        stop = asyncio.ensure_future(_cancel_signal(events))
        try:
            while True:
                following = asyncio.ensure_future(anext(reports, None))
                await asyncio.wait({following, stop}, return_when=asyncio.FIRST_COMPLETED)
                if stop.done():
                    following.cancel()
                    await lifecycle.stop_cancelled(job_id, attempt)
                    return StreamOutcome(True, accepted)
                report = following.result()
                if report is None:
                    return StreamOutcome(False, accepted)
                accepted += 1
                must_stop = await lifecycle.progress(
                    job_id,
                    attempt,
                    stage=report.stage,
                    progress=None if report.heartbeat else report.progress,
                    message=report.message,
                    eta_seconds=report.eta_seconds,
                )
                if must_stop:
                    await lifecycle.stop_cancelled(job_id, attempt)
                    return StreamOutcome(True, accepted)
        finally:
            stop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stop
