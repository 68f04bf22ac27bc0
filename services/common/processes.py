"""Serve from several processes on one port: Python runs one thread of code at a time.

One grpc.aio process tops out at about one core; `filmstudio serve --processes N` starts N
copies that bind the same address with SO_REUSEPORT, so the kernel spreads connections over
them (the pattern gRPC's own multiprocessing example uses). Process 0 also runs the periodic
work (outbox, purge, hold expiry, job recovery). The parent only supervises: it forwards
SIGTERM and SIGINT, and when one copy dies unexpectedly it stops the others and exits non-zero,
so that the orchestrator restarts the whole set rather than running short-handed unseen.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from services.common.config import ConfigError, Settings

log = logging.getLogger(__name__)

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def check_copies(processes: int, port: int, port_setting: str) -> None:
    """Refuse a copy count below one, or several copies on a port chosen at bind time."""
    if processes < 1:
        raise ConfigError("--processes must be at least 1")
    if processes > 1 and port == 0:
        raise ConfigError(f"--processes > 1 needs a fixed {port_setting} (each copy binds it)")


def check_processes(settings: Settings, processes: int, services: list[str]) -> None:
    """Refuse a multi-process set-up whose state would not be shared between the copies."""
    check_copies(processes, settings.grpc_port, "GRPC_PORT")
    if processes == 1:
        return
    if settings.grpc_unix_socket:
        # One path holds one listener: copies would take it from each other.
        raise ConfigError("--processes > 1 shares GRPC_PORT only: unset GRPC_UNIX_SOCKET")
    if not settings.effective_database_url.startswith("postgresql"):
        raise ConfigError("--processes > 1 needs a PostgreSQL DATABASE_URL")
    if "jobs" in services and not settings.redis_url:
        # Job events and the in-process queue live in one process's memory without Redis.
        raise ConfigError("--processes > 1 with the jobs service needs REDIS_URL")


def supervise(count: int, target: Callable[..., Any], *args: Any) -> int:
    """Run `target(*args, index)` in `count` spawned processes until they end; return a status."""
    context = multiprocessing.get_context("spawn")
    children: list[BaseProcess] = []
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            _signal(child, signum)

    previous = {signum: signal.signal(signum, stop) for signum in _STOP_SIGNALS}
    try:
        for index in range(count):
            child = context.Process(
                target=_child, args=(target, *args, index), name=f"serve-{index}"
            )
            child.start()
            children.append(child)
        log.info("serving from %d processes", count, extra={"pids": [c.pid for c in children]})
        failed = _wait_for_all(children, lambda: stopping)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 1 if failed else 0


def _child(target: Callable[..., Any], *args: Any) -> None:
    """Run one copy, asking the kernel to SIGTERM it should the supervisor die first."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() == 1:  # the supervisor died before the request took hold
            return
    target(*args)


def _signal(child: BaseProcess, signum: int) -> None:
    """Send a signal to a child that is still running."""
    if child.pid is not None and child.is_alive():
        os.kill(child.pid, signum)


def _wait_for_all(children: list[BaseProcess], stopping: Callable[[], bool]) -> bool:
    """Wait until every child has exited; return True when one failed or left unasked."""
    failed = False
    running = list(children)
    while running:
        ended = wait([child.sentinel for child in running])
        for child in [c for c in running if c.sentinel in ended]:
            child.join()
            running.remove(child)
            if child.exitcode == 0 and stopping():
                continue
            failed = True
            log.error(
                "serving process exited; stopping the others",
                extra={"copy": child.name, "exit_code": child.exitcode},
            )
            for other in running:
                _signal(other, signal.SIGTERM)
    return failed
