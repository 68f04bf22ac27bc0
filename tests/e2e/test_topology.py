"""`make up` / `make down`: the production shape on one machine, driven through its gateway.

Runs the script behind the make targets (`python -m services.topology`) with a throwaway
database, queue prefix, directory and free ports; SeaweedFS is its own, PostgreSQL and Redis
are the machine's (which `down` must leave running).
"""

from __future__ import annotations

import os
import random
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from rq import Worker
from sqlalchemy.engine import make_url

from services.topology import control
from services.topology.layout import SERVICE_KEYS, Layout
from tests.support.database import TEST_DATABASE_PREFIX, admin_url, drop_postgres_database

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SCRIPT = "Title: Topology\n\nINT. GARAGE - DAY\n\nBRICK\nAgain, from the top.\n"
PASSWORD = "a long passphrase for the topology"


def _ephemeral_start() -> int:
    """Return the first port the kernel hands out to outgoing connections."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _free_block(count: int) -> int:
    """Return the first of `count` consecutive loopback ports that are all free now.

    Below the ephemeral range: the programs start seconds later, and meanwhile an outgoing
    connection took a port picked there (CI: the gateway's, "Address already in use").
    """
    for _ in range(200):
        top = min(_ephemeral_start(), 40000) - count
        base = random.randrange(20000, max(top, 20001))  # noqa: S311 - picking ports, not secrets
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return base
    raise RuntimeError(f"no {count} consecutive free ports")


@dataclass
class Topology:
    """One `make up` of the test: its environment and layout."""

    env: dict[str, str]
    layout: Layout

    def run(self, action: str, timeout: float = 150) -> subprocess.CompletedProcess[str]:
        """Run `python -m services.topology ACTION` as `make ACTION` does."""
        return subprocess.run(
            [sys.executable, "-m", "services.topology", action],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    """A topology layout on free ports with a database and queue prefix of its own."""
    token = secrets.token_hex(4)
    database = f"{TEST_DATABASE_PREFIX}topo_{token}"
    admin = make_url(admin_url())
    settings_names = ("DATABASE_URL", "REDIS_URL", "S3_BUCKET_NAME", "S3_ENDPOINT_URL")
    env = {key: value for key, value in os.environ.items() if key not in settings_names}
    env |= {
        "TOPOLOGY_DIR": str(tmp_path / "var"),
        "GATEWAY_PORT": str(_free_block(1)),
        "TOPOLOGY_GRPC_PORT": str(_free_block(len(SERVICE_KEYS))),
        "TOPOLOGY_METRICS_PORT": str(_free_block(len(SERVICE_KEYS) + 2)),
        "TOPOLOGY_S3_PORT": str(_free_block(8)),
        "TOPOLOGY_POSTGRES_PORT": str(admin.port or 5432),
        "TOPOLOGY_REDIS_PORT": str(make_url(REDIS_URL).port or 6379),
        "TOPOLOGY_DATABASE": database,
        "QUEUE_PREFIX": f"topo-{token}",
    }
    found = Topology(env, Layout.from_env(env))
    try:
        yield found
    finally:
        if control.running_pid(found.layout) is not None:
            found.run("down")
        drop_postgres_database(admin.set(database=database).render_as_string(False))
        with redis.Redis.from_url(REDIS_URL) as connection:
            keys = list(connection.scan_iter(f"*topo-{token}*"))
            if keys:
                connection.delete(*keys)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _rest_flow(base: str, s3_endpoint: str) -> None:
    """Register, sign in, make and read a project, and see a script analysis job finish."""
    with httpx.Client(base_url=base, timeout=30) as client:
        email = f"topo-{secrets.token_hex(3)}@example.com"
        body = {"email": email, "password": PASSWORD, "firstName": "Topo"}
        assert client.post("/v1/users:register", json=body).status_code == 200
        login = client.post("/v1/auth:login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['tokens']['accessToken']}"}
        project = {"title": "Topology", "script": SCRIPT, "targetDurationSeconds": 30}
        made = client.post("/v1/projects", json=project, headers=auth)
        assert made.status_code == 200, made.text
        name = made.json()["name"]
        read = client.get(f"/v1/{name}", headers=auth)
        assert (read.status_code, read.json()["title"]) == (200, "Topology")
        job = {"project": name, "jobType": "JOB_TYPE_SCRIPT_ANALYSIS"}
        queued = client.post("/v1/jobs", json=job, headers=auth)
        assert queued.status_code == 200, queued.text
        deadline = time.monotonic() + 60
        while True:
            found = client.get(f"/v1/{queued.json()['name']}", headers=auth).json()
            if found["status"] in ("JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED"):
                break
            assert time.monotonic() < deadline, f"job still {found['status']}"
            time.sleep(0.3)
        assert found["status"] == "JOB_STATUS_SUCCEEDED", found
        # The artifact went to the SeaweedFS that `make up` started: its presigned URL reads.
        url = found["artifacts"][0]["downloadUrl"]
        assert url.startswith(s3_endpoint), url
        assert httpx.get(url, timeout=10).status_code == 200


def test_make_up_serves_the_studio_from_separate_processes_and_make_down_stops_them(
    topology: Topology,
) -> None:
    up = topology.run("up")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "FilmStudio is up" in up.stdout
    layout = topology.layout
    supervisord = control.running_pid(layout)
    assert supervisord is not None
    again = topology.run("up")  # a second `make up` changes nothing
    assert (again.returncode, "already up" in again.stdout) == (0, True), again.stdout

    infos = control._proxy(layout).supervisor.getAllProcessInfo()
    states = {f"{info['group']}:{info['name']}": info["statename"] for info in infos}
    expected = {f"services:{key}" for key in SERVICE_KEYS}
    expected |= {"gateway:gateway", "workers:worker-1", "workers:worker-2", "infra:seaweedfs"}
    assert set(states) == expected
    assert set(states.values()) == {"RUNNING"}, states
    pids = [info["pid"] for info in infos]
    assert len(set(pids)) == len(pids), "each piece runs in a process of its own"

    with redis.Redis.from_url(REDIS_URL) as connection:
        names = {worker.name for worker in Worker.all(connection=connection)}
    prefix = topology.env["QUEUE_PREFIX"]
    assert {f"{prefix}-worker-1", f"{prefix}-worker-2"} <= names

    _rest_flow(f"http://127.0.0.1:{layout.gateway_port}", f"http://127.0.0.1:{layout.s3_port}/")

    down = topology.run("down")
    assert down.returncode == 0, down.stdout + down.stderr
    gone = time.monotonic() + 10
    while any(_alive(pid) for pid in [*pids, supervisord]) and time.monotonic() < gone:
        time.sleep(0.1)
    assert not [pid for pid in [*pids, supervisord] if _alive(pid)]
    assert control.running_pid(layout) is None
    # The machine's PostgreSQL and Redis were used, not started: they still answer.
    with redis.Redis.from_url(REDIS_URL) as connection:
        assert connection.ping()
    assert topology.run("down").stdout.strip() == "not up"
