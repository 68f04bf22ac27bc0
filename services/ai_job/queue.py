"""Job queues: Redis + RQ in production, an in-process pool on the embedded default.

Both carry only (job id, attempt): the database says what a job is and where it stands, and a
worker that dequeues a job that is no longer QUEUED at that attempt simply drops it. One queue
per priority; workers drain high before normal before low. With traces on, an entry also carries
the enqueuing call's trace context (`traceparent`), which the worker continues.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from opentelemetry import context as otel_context

from services.common import tracing

log = logging.getLogger(__name__)

QUEUES = {1: "high", 2: "normal", 3: "low"}
WORKER_FUNCTION = "services.ai_job.worker.run_queued_job"
# The RQ job meta key of the enqueuing call's trace context (W3C headers).
TRACE_META_KEY = "trace"
# An RQ job outlives any render; our own heartbeats decide when a job is lost.
RQ_JOB_TIMEOUT_SECONDS = 12 * 3600


def queue_name(priority: int) -> str:
    """Return the queue of a priority (1 high, 2 normal, 3 low)."""
    return QUEUES[priority]


def work_id(job_id: int, attempt: int) -> str:
    """Return the queue entry id of one attempt of a job."""
    return f"job-{job_id}-{attempt}"


class JobQueue(Protocol):
    """Where queued work waits for a worker."""

    async def enqueue(self, job_id: int, attempt: int, priority: int) -> None:
        """Queue one attempt of a job."""
        ...

    async def remove(self, job_id: int, attempt: int) -> bool:
        """Take a queued attempt out; return whether it was still waiting."""
        ...

    async def contains(self, job_id: int, attempt: int) -> bool:
        """Tell whether an attempt is waiting or being worked on."""
        ...

    async def depth(self) -> dict[str, int]:
        """Return the number of waiting entries per queue."""
        ...

    async def close(self) -> None:
        """Stop workers and release connections."""
        ...


Runner = Callable[[int, int], Awaitable[None]]


class InProcessQueue:
    """Priority queues served by worker tasks in this process (the embedded default)."""

    def __init__(self) -> None:
        self._queue: asyncio.PriorityQueue[tuple[int, int, int, int]] = asyncio.PriorityQueue()
        self._order = itertools.count()
        self._waiting: dict[tuple[int, int], int] = {}
        self._running: set[tuple[int, int]] = set()
        self._traces: dict[tuple[int, int], dict[str, str]] = {}
        self._workers: list[asyncio.Task[None]] = []

    def start(self, runner: Runner, concurrency: int) -> None:
        """Start `concurrency` worker tasks that run dequeued attempts with `runner`."""
        loop = asyncio.get_running_loop()
        self._workers += [loop.create_task(self._work(runner)) for _ in range(concurrency)]

    async def _work(self, runner: Runner) -> None:
        while True:
            _priority, _, job_id, attempt = await self._queue.get()
            if self._waiting.pop((job_id, attempt), None) is None:
                continue  # removed while waiting
            self._running.add((job_id, attempt))
            trace = self._traces.pop((job_id, attempt), None)
            token = otel_context.attach(tracing.extract(trace)) if trace else None
            try:
                await runner(job_id, attempt)
            except asyncio.CancelledError:
                raise
            except Exception:  # the runner reports its own failures; keep serving
                log.exception("worker task failed", extra={"job_id": job_id})
            finally:
                self._running.discard((job_id, attempt))
                if token is not None:
                    otel_context.detach(token)

    async def enqueue(self, job_id: int, attempt: int, priority: int) -> None:
        """Queue an attempt."""
        if (job_id, attempt) in self._waiting:
            return
        self._waiting[(job_id, attempt)] = priority
        if trace := tracing.carrier():
            self._traces[(job_id, attempt)] = trace
        await self._queue.put((priority, next(self._order), job_id, attempt))

    async def remove(self, job_id: int, attempt: int) -> bool:
        """Drop a waiting attempt (lazily: the worker skips it)."""
        self._traces.pop((job_id, attempt), None)
        return self._waiting.pop((job_id, attempt), None) is not None

    async def contains(self, job_id: int, attempt: int) -> bool:
        """Tell whether an attempt waits or runs here."""
        return (job_id, attempt) in self._waiting or (job_id, attempt) in self._running

    async def depth(self) -> dict[str, int]:
        """Count waiting attempts per queue."""
        return self.counts()

    def counts(self) -> dict[str, int]:
        """Count waiting attempts per queue (from any thread: a scrape reads it)."""
        counts = dict.fromkeys(QUEUES.values(), 0)
        # list() copies in one step under the GIL, so the loop's changes cannot break it.
        for priority in list(self._waiting.values()):
            counts[queue_name(priority)] += 1
        return counts

    async def close(self) -> None:
        """Cancel the worker tasks."""
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()


class RQQueue:
    """RQ queues on Redis, one per priority, JSON-serialised (never pickle)."""

    def __init__(self, url: str, prefix: str = "filmstudio") -> None:
        from redis import Redis
        from rq import Queue
        from rq.serializers import JSONSerializer

        self.connection = Redis.from_url(url)
        self.prefix = prefix
        self.queues = {
            priority: Queue(
                f"{prefix}-{name}", connection=self.connection, serializer=JSONSerializer
            )
            for priority, name in QUEUES.items()
        }

    def names(self) -> list[str]:
        """Return the RQ queue names, highest priority first."""
        return [queue.name for _, queue in sorted(self.queues.items())]

    def _fetch(self, job_id: int, attempt: int) -> Any:
        from rq.exceptions import NoSuchJobError
        from rq.job import Job
        from rq.serializers import JSONSerializer

        try:
            return Job.fetch(
                work_id(job_id, attempt), connection=self.connection, serializer=JSONSerializer
            )
        except NoSuchJobError:
            return None

    async def enqueue(self, job_id: int, attempt: int, priority: int) -> None:
        """Enqueue the worker function for an attempt."""
        queue = self.queues[priority]
        trace = tracing.carrier()
        await asyncio.to_thread(
            queue.enqueue,
            WORKER_FUNCTION,
            job_id,
            attempt,
            job_id=work_id(job_id, attempt),
            job_timeout=RQ_JOB_TIMEOUT_SECONDS,
            result_ttl=3600,
            failure_ttl=7 * 86400,
            meta={TRACE_META_KEY: trace} if trace else None,
        )

    async def remove(self, job_id: int, attempt: int) -> bool:
        """Cancel a queued RQ job (RQ's cancel only affects jobs not yet started)."""

        def cancel() -> bool:
            job = self._fetch(job_id, attempt)
            if job is None or job.get_status(refresh=True) != "queued":
                return False
            job.cancel()
            return True

        return await asyncio.to_thread(cancel)

    async def contains(self, job_id: int, attempt: int) -> bool:
        """Tell whether RQ still holds the attempt as queued, scheduled or started."""

        def status() -> bool:
            job = self._fetch(job_id, attempt)
            return job is not None and job.get_status(refresh=True) in (
                "queued",
                "started",
                "scheduled",
                "deferred",
            )

        return await asyncio.to_thread(status)

    async def depth(self) -> dict[str, int]:
        """Count waiting entries per queue."""

        return await asyncio.to_thread(self.counts)

    def counts(self) -> dict[str, int]:
        """Count waiting entries per queue (blocking: one LLEN each)."""
        return {QUEUES[p]: queue.count for p, queue in self.queues.items()}

    async def close(self) -> None:
        """Close the Redis connection."""
        await asyncio.to_thread(self.connection.close)
