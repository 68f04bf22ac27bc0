"""Private Redis and PostgreSQL servers that a test may stop and restart (never the shared ones)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import redis

from tests.support.studio import free_port


class PrivateRedis:
    """A redis-server on a free port of its own, with no persistence: a restart empties it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the server's URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    return
            if time.monotonic() > deadline:
                raise AssertionError("private redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        """Kill the server (as a crash would) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    """Run a private Redis for the block."""
    server = PrivateRedis(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _pg_bin(name: str) -> str:
    return shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1]


def _as_postgres_user() -> list[str]:
    """Return the command prefix that runs the PostgreSQL tools unprivileged (they refuse root)."""
    if os.geteuid() != 0:
        return []
    return [shutil.which("runuser") or "runuser", "-u", "postgres", "--"]


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary directory of its own, on a free port, trust auth."""

    def __init__(self) -> None:
        # Not under pytest's tmp_path: as root, the cluster belongs to the postgres user, who
        # cannot enter root's private directories.
        self.home = Path(tempfile.mkdtemp(prefix="filmstudio-pg-"))
        self.directory = self.home / "pgdata"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres", "postgres")

    @property
    def url(self) -> str:
        """Return the async URL of its `postgres` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        subprocess.run(
            [*_as_postgres_user(), *command],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "LC_ALL": "C"},
        )

    def _pg_ctl(self, *args: str) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.directory), "-w", "-t", "30", *args)

    def init(self) -> None:
        """Create the cluster."""
        self._run(
            _pg_bin("initdb"),
            "-D",
            str(self.directory),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
        )

    def start(self) -> None:
        """Start the server (sockets in its own directory) and wait until it accepts queries."""
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", options, "-l", str(self.home / "log"), "start")
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres") as conn:
            conn.execute("SELECT 1")

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server; `immediate` is what a crash looks like to its clients."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._pg_ctl("-m", mode, "stop")

    def remove(self) -> None:
        """Delete the cluster's files."""
        shutil.rmtree(self.home, ignore_errors=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """Run a private PostgreSQL for the block."""
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        server.remove()
