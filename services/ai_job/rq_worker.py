"""The RQ worker loop of `filmstudio worker`, made to ride out Redis outages and restarts.

RQ's own loop quits on any Redis error outside its dequeue (a heartbeat, maintenance, the
registration at start), so a two-second outage ended the process. Here the loop is started again
with backoff until a stop is asked for. A worker killed without deregistering leaves its name
registered; a restart on the same host finds that process gone and takes the name back.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from types import FrameType
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError, TimeoutError
from rq import Worker, worker_registration
from rq.exceptions import StopRequested
from rq.serializers import JSONSerializer

from services.common import metrics

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 15.0
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _Worker(Worker):
    """RQ's worker that remembers a stop request and honours it while Redis is down."""

    stop_signalled = False

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        """Record the request, then let RQ stop (warm: after the job in hand)."""
        self.stop_signalled = True
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

    def execute_job(self, job: Any, queue: Any) -> None:
        """Run the job in a work horse, then record the durations the horse measured."""
        super().execute_job(job, queue)
        try:
            metrics.replay(job.get_meta(refresh=True).get(metrics.META_KEY, ()))
        except (ConnectionError, TimeoutError):
            log.warning("job metrics lost with Redis", extra={"job": job.id})

    def _shutdown(self) -> None:
        try:
            super()._shutdown()  # type: ignore[no-untyped-call]
        except (ConnectionError, TimeoutError):
            # RQ asks Redis whether we are busy; with Redis down there is no job in hand.
            raise StopRequested() from None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _take_back_name(worker: Worker) -> None:
    """Remove the registration a dead process of this host left under the worker's name."""
    connection: Any = worker.connection
    found = connection.hgetall(worker.key)
    if not found or b"death" in found:
        return  # free, or RQ will replace a registration that ended properly
    hostname = found.get(b"hostname", b"").decode()
    pid = int(found.get(b"pid", b"0") or 0)
    if hostname != socket.gethostname() or (pid != os.getpid() and _alive(pid)):
        return  # someone else's, or alive: RQ refuses the duplicate name
    log.warning("taking back the name of a dead worker", extra={"worker": worker.name, "pid": pid})
    with connection.pipeline() as pipeline:
        pipeline.delete(worker.key)
        worker_registration.unregister(worker, pipeline)
        pipeline.execute()


def _sleep_unless_stopped(seconds: float) -> bool:
    """Sleep, returning True early if SIGTERM or SIGINT arrives meanwhile."""
    stopped = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopped
        stopped = True

    previous = {signum: signal.signal(signum, stop) for signum in _STOP_SIGNALS}
    try:
        deadline = time.monotonic() + seconds
        while not stopped and time.monotonic() < deadline:
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return stopped


def work(connection: Redis, queues: list[str], *, name: str | None, burst: bool) -> int:
    """Run RQ's loop until asked to stop (or, with `burst`, until the queues are empty)."""
    delay = RECONNECT_SECONDS
    while True:
        started = time.monotonic()
        worker: _Worker | None = None
        try:
            # Even the constructor talks to Redis (it asks for the client's address).
            worker = _Worker(queues, connection=connection, serializer=JSONSerializer, name=name)
            _take_back_name(worker)
            log.info("worker starting", extra={"queues": queues, "worker": worker.name})
            worker.work(burst=burst, with_scheduler=False)
            if worker.stop_signalled or burst:
                return 0
            failure = "the work loop ended (see the error above)"
        except StopRequested:
            return 0
        except (ConnectionError, TimeoutError) as error:
            if worker is not None and worker.stop_signalled:
                return 0
            failure = str(error)
        if time.monotonic() - started > RECONNECT_MAX_SECONDS:
            delay = RECONNECT_SECONDS  # it ran a while: this is a new outage, not the same one
        log.warning(
            "worker lost Redis; starting again",
            extra={"worker": name, "why": failure, "retry_in_seconds": delay},
        )
        if _sleep_unless_stopped(delay):
            return 0
        delay = min(delay * 2, RECONNECT_MAX_SECONDS)
