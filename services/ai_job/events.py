"""Job events: an in-process bus on the embedded default, Redis Streams in production.

Each job has its own bounded, replayable stream. Event ids look like Redis stream ids
("<ms>-<seq>") in both buses, so a watcher resumes after any id it has seen. Within a process one
reader per job fans events out to every local watcher, so a thousand watchers cost one reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from services.common import errors

log = logging.getLogger(__name__)

STREAM_TTL_SECONDS = 7 * 86400
READ_BLOCK_MS = 5000
READ_RETRY_SECONDS = 0.5
READ_RETRY_MAX_SECONDS = 5.0
# Readers are named, so that tests and debuggers can find the ones still running.
READER_TASK_PREFIX = "job-events-reader:"


@dataclass(frozen=True)
class JobEvent:
    """Something that happened to a job."""

    id: str
    job_id: int
    time: float
    status: str
    stage: str = ""
    progress: float = 0.0
    message: str = ""
    eta_seconds: float | None = None
    terminal: bool = False
    cancel_requested: bool = False

    @functools.cached_property
    def order(self) -> tuple[int, int]:
        """Return the id's sort key, worked out once: a thousand watchers share this event."""
        return event_order(self.id)

    def to_json(self) -> str:
        """Serialise without the id (the stream assigns it)."""
        return json.dumps({k: v for k, v in asdict(self).items() if k != "id"})

    @classmethod
    def from_json(cls, event_id: str, data: str | bytes) -> JobEvent:
        """Rebuild an event read from a stream."""
        return cls(id=event_id, **json.loads(data))


def event_order(event_id: str) -> tuple[int, int]:
    """Return a sortable key for an event id ("" sorts first; malformed ids raise ValueError)."""
    if not event_id:
        return (-1, -1)
    millis, _, sequence = event_id.partition("-")
    return (int(millis), int(sequence or 0))


class EventBus(Protocol):
    """Publish, replay and follow the events of jobs."""

    async def publish(self, event: JobEvent) -> str:
        """Append an event (its id is ignored) and return the id it got."""
        ...

    async def history(self, job_id: int, after: str = "") -> list[JobEvent]:
        """Return the retained events of a job after an id, oldest first."""
        ...

    def follow(
        self, job_id: int
    ) -> contextlib.AbstractAsyncContextManager[asyncio.Queue[JobEvent]]:
        """Receive the job's new events on a queue while the context is open."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@dataclass
class _Fanout:
    """The local watchers of one job."""

    queues: set[asyncio.Queue[JobEvent]] = field(default_factory=set)
    reader: asyncio.Task[None] | None = None

    def deliver(self, event: JobEvent) -> None:
        for queue in self.queues:
            queue.put_nowait(event)


class _Following:
    """A watcher's queue of a job's new events, joined on entry and left on exit.

    A class rather than an @asynccontextmanager: at loop shutdown asyncio closes every
    unfinished async generator in no set order, and a context manager's generator closed before
    the watcher's own made the watcher's exit fail ("generator didn't stop after athrow()").
    """

    __slots__ = ("_job_id", "_join", "_leave", "_queue")

    def __init__(
        self,
        join: Callable[[int, asyncio.Queue[JobEvent]], Awaitable[None]],
        leave: Callable[[int, asyncio.Queue[JobEvent]], None],
        job_id: int,
    ) -> None:
        self._join, self._leave, self._job_id = join, leave, job_id
        self._queue: asyncio.Queue[JobEvent] = asyncio.Queue()

    async def __aenter__(self) -> asyncio.Queue[JobEvent]:
        """Join the job's watchers and return the queue its events arrive on."""
        try:
            await self._join(self._job_id, self._queue)
        except BaseException:
            # Also when Redis failed before the reader started: a queue left behind would keep
            # every later reader of this job alive after its last watcher left.
            self._leave(self._job_id, self._queue)
            raise
        return self._queue

    async def __aexit__(self, *exc_info: object) -> None:
        """Leave the job's watchers (the last one out stops the job's reader)."""
        self._leave(self._job_id, self._queue)


def _leave(fanouts: dict[int, _Fanout], job_id: int, queue: asyncio.Queue[JobEvent]) -> None:
    """Take a watcher's queue out of its job's fan-out; the last one out stops the reader."""
    fanout = fanouts.get(job_id)
    if fanout is None:
        return
    fanout.queues.discard(queue)
    if not fanout.queues:
        del fanouts[job_id]
        if fanout.reader is not None:
            fanout.reader.cancel()


class InMemoryEventBus:
    """Events kept in this process (the embedded default)."""

    def __init__(self, maxlen: int = 1000) -> None:
        self._events: dict[int, deque[JobEvent]] = defaultdict(lambda: deque(maxlen=maxlen))
        self._fanout: dict[int, _Fanout] = defaultdict(_Fanout)
        self._last = (0, 0)

    def _next_id(self) -> str:
        millis = int(time.time() * 1000)
        sequence = self._last[1] + 1 if millis <= self._last[0] else 0
        self._last = (max(millis, self._last[0]), sequence)
        return f"{self._last[0]}-{self._last[1]}"

    async def publish(self, event: JobEvent) -> str:
        """Append and deliver an event."""
        stored = JobEvent(**{**asdict(event), "id": self._next_id()})
        self._events[event.job_id].append(stored)
        if event.job_id in self._fanout:
            self._fanout[event.job_id].deliver(stored)
        return stored.id

    async def history(self, job_id: int, after: str = "") -> list[JobEvent]:
        """Return retained events after an id."""
        floor = event_order(after)
        return [e for e in self._events.get(job_id, ()) if e.order > floor]

    def follow(self, job_id: int) -> _Following:
        """Receive new events while open."""
        return _Following(self._join, self._leave, job_id)

    async def _join(self, job_id: int, queue: asyncio.Queue[JobEvent]) -> None:
        self._fanout[job_id].queues.add(queue)

    def _leave(self, job_id: int, queue: asyncio.Queue[JobEvent]) -> None:
        _leave(self._fanout, job_id, queue)

    async def close(self) -> None:
        """Nothing to release."""


class RedisEventBus:
    """Events in one Redis stream per job, bounded by MAXLEN and expiring after a week."""

    def __init__(self, url: str, prefix: str = "filmstudio", maxlen: int = 1000) -> None:
        import redis.asyncio as redis

        # redis-py's reply types are unions of every shape a command can return; Any is honest.
        self._redis: Any = redis.Redis.from_url(url, decode_responses=True)
        # Blocking reads hold a connection each; keep them off the publishing pool.
        self._readers: Any = redis.Redis.from_url(url, decode_responses=True, max_connections=512)
        self._prefix = prefix
        self._maxlen = maxlen
        self._fanout: dict[int, _Fanout] = {}

    def _key(self, job_id: int) -> str:
        return f"{self._prefix}:job:{job_id}:events"

    async def publish(self, event: JobEvent) -> str:
        """XADD the event and refresh the stream's expiry."""
        key = self._key(event.job_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(key, {"data": event.to_json()}, maxlen=self._maxlen, approximate=True)
            pipe.expire(key, STREAM_TTL_SECONDS)
            event_id, _ = await pipe.execute()
        return str(event_id)

    async def history(self, job_id: int, after: str = "") -> list[JobEvent]:
        """XRANGE the stream after an id (exclusive)."""
        start = f"({after}" if after else "-"
        with _unavailable_when_down():
            entries = await self._redis.xrange(self._key(job_id), min=start, max="+")
        return [JobEvent.from_json(entry_id, fields["data"]) for entry_id, fields in entries]

    async def _read(self, job_id: int, fanout: _Fanout, last: str) -> None:
        """Follow the stream with blocking XREADs and deliver to the local watchers.

        The loop also ends by itself once its watchers are gone: a cancellation that lands
        while redis-py reconnects can be lost, and a reader nobody stops would block forever.
        """
        key = self._key(job_id)
        delay = READ_RETRY_SECONDS
        while self._watched(job_id, fanout):
            try:
                reply = await self._readers.xread({key: last}, block=READ_BLOCK_MS, count=500)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Redis hiccup: wait and resume from the last id seen
                if not self._watched(job_id, fanout):
                    # The watchers left and the cancellation was lost on the way (see above):
                    # the failed read is that cancellation's, not Redis's, and nobody waits.
                    return
                log.warning("event stream read failed; retrying: %s", error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, READ_RETRY_MAX_SECONDS)
                continue
            delay = READ_RETRY_SECONDS
            for _, entries in reply or ():
                for entry_id, fields in entries:
                    last = entry_id
                    fanout.deliver(JobEvent.from_json(entry_id, fields["data"]))

    def _watched(self, job_id: int, fanout: _Fanout) -> bool:
        """Tell whether a reader's fan-out still has watchers and is still the job's."""
        return bool(fanout.queues) and self._fanout.get(job_id) is fanout

    def follow(self, job_id: int) -> _Following:
        """Receive new events while open; one reader per job serves every local watcher."""
        return _Following(self._join, self._leave, job_id)

    async def _join(self, job_id: int, queue: asyncio.Queue[JobEvent]) -> None:
        fanout = self._fanout.setdefault(job_id, _Fanout())
        fanout.queues.add(queue)
        if fanout.reader is None or fanout.reader.done():
            # Start after the newest entry now (not "$", which would lose what lands before
            # the first XREAD is registered); older events are the caller's replay.
            with _unavailable_when_down():
                newest = await self._redis.xrevrange(self._key(job_id), count=1)
            start = newest[0][0] if newest else "0-0"
            if fanout.reader is None or fanout.reader.done():  # another watcher may have won
                fanout.reader = asyncio.get_running_loop().create_task(
                    self._read(job_id, fanout, start), name=f"{READER_TASK_PREFIX}{job_id}"
                )

    def _leave(self, job_id: int, queue: asyncio.Queue[JobEvent]) -> None:
        _leave(self._fanout, job_id, queue)

    async def close(self) -> None:
        """Stop readers and close the connection pools."""
        readers = [f.reader for f in self._fanout.values() if f.reader is not None]
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        self._fanout.clear()
        await self._readers.aclose()
        await self._redis.aclose()


@contextlib.contextmanager
def _unavailable_when_down() -> Iterator[None]:
    """Turn a lost Redis connection into UNAVAILABLE, which clients retry (not INTERNAL)."""
    from redis.exceptions import ConnectionError, TimeoutError

    try:
        yield
    except (ConnectionError, TimeoutError) as error:
        raise errors.Unavailable(
            "job events are unavailable; retry shortly",
            reason="EVENTS_UNAVAILABLE",
            retry_after_seconds=1.0,
        ) from error


def event_bus_from_settings(redis_url: str | None, prefix: str, maxlen: int) -> EventBus:
    """Return Redis Streams when REDIS_URL is set, else the in-process bus."""
    if redis_url:
        return RedisEventBus(redis_url, prefix, maxlen)
    return InMemoryEventBus(maxlen)
