"""Real `filmstudio worker` processes for tests in the production shape (Redis, RQ)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import redis

from tests.support.jobs import JOB_SETTINGS
from tests.support.studio import TEST_JWT_SECRET, running_studio, studio_settings

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
FILMSTUDIO = str(Path(sys.executable).parent / "filmstudio")


@contextlib.contextmanager
def redis_prefix(label: str) -> Iterator[str]:
    """Yield a queue prefix of the test's own, and delete its Redis keys afterwards."""
    name = f"{label}-{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"*{name}*"):
            client.delete(key)


@contextlib.asynccontextmanager
async def production_studio(
    var: Path, postgres_url: str, prefix: str, **extra: Any
) -> AsyncIterator[tuple[Any, Any, Path]]:
    """Serve every service on PostgreSQL and Redis with no in-process workers: jobs wait for
    `filmstudio worker` processes. `extra` settings win (e.g. a private Redis's REDIS_URL)."""
    settings = studio_settings(
        var,
        postgres_url,
        **{
            "REDIS_URL": REDIS_URL,
            "QUEUE_PREFIX": prefix,
            "WORKER_CONCURRENCY": 0,
            **JOB_SETTINGS,
            **extra,
        },
    )
    async with running_studio(settings, background=True) as (server, channel):
        yield server, channel, var


def descendants(pid: int) -> list[int]:
    """Return every process below `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


class Workers:
    """Real `filmstudio worker` processes, each in its own process group."""

    def __init__(self, production, prefix: str, **env: str) -> None:
        server, _, var = production
        self.env = {
            **os.environ,
            "REDIS_URL": REDIS_URL,
            "QUEUE_PREFIX": prefix,
            "JOBS_SERVICE_ADDR": server.app.settings.grpc_address,
            "JWT_SECRET": TEST_JWT_SECRET,
            "FILMSTUDIO_ENV": "test",
            "FILMSTUDIO_VAR_DIR": str(var),
            "JOB_DIAGNOSTICS": "1",
            "HEARTBEAT_INTERVAL": "0.2",
            # Workers never open the database: give them one that cannot be reached.
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
            **env,
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [FILMSTUDIO, "worker", *args],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """kill -9 the worker and its work horse (RQ puts it in a session of its own)."""
        for pid in [*descendants(process.pid), process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                self.kill(process)
