"""Prometheus metrics of the studio's processes: queue depth, jobs, stages and credits.

The RPCs' own are in rpc_metrics.py, the gateway's in gateway/metrics.py. All of them live in
prometheus_client's process-wide registry, so whatever serves GET /metrics in a process (the
gateway's route, or `serve_metrics` on METRICS_PORT) shows them all.

`serve --processes N` gives each copy its own port (METRICS_PORT + index) rather than using
prometheus_client's multiprocess mode: that mode writes every increment to a memory-mapped
file (several times the cost of an in-process add, on every RPC), needs a shared directory
wiped at each start and dead copies' files reaped, and cannot sum gauges; a target per copy
costs nothing per call and Prometheus sums the copies itself (`sum by (grpc_method)`).

The RQ worker runs each job in a forked work horse whose memory dies with it: the horse
captures its job and stage observations (`capture`) into the RQ job's meta, and the worker
process replays them (`replay`) after the horse ends, where its /metrics shows them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    REGISTRY,
    Counter,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.common.config import Settings

log = logging.getLogger(__name__)

# The *_created series (a timestamp per child) double a scrape and no query here uses them.
disable_created_metrics()  # type: ignore[no-untyped-call]

# From a cached stage (a fraction of a second) to a whole render (an hour).
WORK_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

JOB_SECONDS = Histogram(
    "filmstudio_job_duration_seconds",
    "Time a worker spent on one job attempt, from its claim to its end",
    ("job_type", "outcome"),
    buckets=WORK_BUCKETS,
)
STAGE_SECONDS = Histogram(
    "filmstudio_stage_duration_seconds",
    "Time one pipeline stage of a job took (reused: found finished by an earlier run)",
    ("stage", "outcome"),
    buckets=WORK_BUCKETS,
)
CREDITS_ISSUED = Counter(
    "filmstudio_credits_issued_total",
    "Credits put into wallets (allowances, purchases, grants), by transaction kind",
    ("kind",),
)
CREDITS_CONSUMED = Counter(
    "filmstudio_credits_consumed_total",
    "Credits spent (deductions, captured job holds), by transaction kind",
    ("kind",),
)


class QueueDepth(Collector):
    """filmstudio_queue_depth{queue}: read from the process's job queue at each scrape."""

    def __init__(self) -> None:
        self._source: Callable[[], Mapping[str, int]] | None = None

    def watch(self, source: Callable[[], Mapping[str, int]]) -> Callable[[], None]:
        """Report `source()` (waiting entries per queue); return what stops reporting it."""
        self._source = source

        def unwatch() -> None:
            if self._source is source:
                self._source = None

        return unwatch

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the depth per queue, or nothing when no queue is watched or it cannot say."""
        source = self._source
        if source is None:
            return
        try:
            depths = source()
        except Exception as error:  # Redis down: the scrape still shows everything else
            log.warning("queue depth unavailable: %s", error)
            return
        family = GaugeMetricFamily(
            "filmstudio_queue_depth", "Job attempts waiting in each queue", labels=("queue",)
        )
        for queue, depth in depths.items():
            family.add_metric((queue,), depth)
        yield family


QUEUE_DEPTH = QueueDepth()
REGISTRY.register(QUEUE_DEPTH)

Observation = tuple[str, str, str, float]
# Where a work horse leaves its observations in its RQ job's meta.
META_KEY = "metrics"
_captured: list[Observation] | None = None


def observe_job(job_type: str, outcome: str, seconds: float) -> None:
    """Record a job attempt's duration and outcome (succeeded, failed, cancelled, abandoned)."""
    if _captured is not None:
        _captured.append(("job", job_type, outcome, seconds))
    else:
        JOB_SECONDS.labels(job_type, outcome).observe(seconds)


def observe_stage(stage: str, outcome: str, seconds: float) -> None:
    """Record how long a stage took and how it ended (ran, reused, failed, cancelled)."""
    if _captured is not None:
        _captured.append(("stage", stage, outcome, seconds))
    else:
        STAGE_SECONDS.labels(stage, outcome).observe(seconds)


@contextmanager
def capture() -> Iterator[list[Observation]]:
    """Collect the job and stage observations made inside, for another process to record.

    A forked work horse must not touch the metrics it inherited: a scrape in the parent's
    metrics thread may have held one of their locks at the fork, and it would never be freed.
    """
    global _captured
    found: list[Observation] = []
    _captured = found
    try:
        yield found
    finally:
        _captured = None


def replay(observations: Sequence[Sequence[Any]]) -> None:
    """Record observations captured in another process (a work horse)."""
    for kind, name, outcome, seconds in observations:
        metric = JOB_SECONDS if kind == "job" else STAGE_SECONDS
        metric.labels(str(name), str(outcome)).observe(float(seconds))


def credits_moved(issued: Mapping[str, int], consumed: Mapping[str, int]) -> None:
    """Count credits issued and consumed by committed transactions, by kind."""
    for kind, amount in issued.items():
        CREDITS_ISSUED.labels(kind).inc(amount)
    for kind, amount in consumed.items():
        CREDITS_CONSUMED.labels(kind).inc(amount)


class MetricsServer:
    """GET /metrics on its own port, served by a thread (for processes without HTTP)."""

    def __init__(self, host: str, port: int) -> None:
        self._server, self._thread = start_http_server(port, addr=host)
        self.port = int(self._server.server_address[1])
        log.info("metrics listening", extra={"address": host, "port": self.port})

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_metrics(settings: Settings, index: int = 0) -> MetricsServer | None:
    """Serve /metrics on METRICS_PORT + `index` (copy `index` of several); None when unset."""
    host, port = settings.metrics_host, settings.metrics_port
    if port is None:
        return None
    port = port + index if port else 0  # 0: a free port, which the log line names
    try:
        return MetricsServer(host, port)
    except OSError as error:
        raise OSError(f"cannot serve metrics on {host}:{port}: {error.strerror or error}") from None
