"""`filmstudio worker`: an RQ worker that runs job attempts (needs Redis and the job service)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from services.ai_job.queue import QUEUES, RQQueue
from services.common.config import Settings

log = logging.getLogger(__name__)


def register(commands: Any) -> None:
    """Add the `worker` command."""
    worker = commands.add_parser("worker", help="run job attempts from the Redis queues")
    worker.add_argument(
        "--queues",
        default=",".join(QUEUES.values()),
        help="comma-separated, in the order to drain them (default: high,normal,low)",
    )
    worker.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    worker.add_argument("--name", default=None, help="worker name (default: host:pid)")
    worker.set_defaults(handler=_work)


def _work(args: argparse.Namespace, settings: Settings) -> int:
    from services.ai_job import rq_worker
    from services.common import metrics

    if not settings.redis_url:
        log.error("REDIS_URL is not set: without Redis, `filmstudio run` runs jobs in-process")
        return 2
    queues = [name.strip() for name in args.queues.split(",") if name.strip()]
    unknown = [name for name in queues if name not in QUEUES.values()]
    if unknown or not queues:
        log.error("unknown queues %s; choose from %s", unknown, ", ".join(QUEUES.values()))
        return 2
    rq_queue = RQQueue(settings.redis_url, settings.queue_prefix)
    names = [f"{settings.queue_prefix}-{name}" for name in queues]
    try:
        server = metrics.serve_metrics(settings)
    except OSError as error:
        log.error("%s", error)
        return 1
    metrics.QUEUE_DEPTH.watch(rq_queue.counts)
    try:
        return rq_worker.work(rq_queue.connection, names, name=args.name, burst=args.burst)
    finally:
        if server is not None:
            server.close()
