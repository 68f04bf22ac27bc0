"""Load test: N simulated users doing the whole flow through the REST gateway for a bounded time.

Users arrive one after another over `--ramp` seconds (default 10), as real ones do: on this
2-core machine bcrypt at its production cost hashes about 8 passwords a second (a sign-up and a
sign-in take one each), and 50 sign-ups at one instant overflow the hashing queue, which sheds
them with 503 and Retry-After (README, PASSWORD_HASH_CONCURRENCY). Each user, on an HTTP
connection of its own, signs up (a unique email), signs in, reads GET /v1/users/me, creates a
project from a small Fountain script, lists its projects, reads the project and its credits,
creates a job and polls it until it ends, then loops over the read endpoints until `--seconds`
have passed since the start (a user still in its first pass when time is up finishes that pass,
so every endpoint is measured for every user). The job is a script analysis, the cheapest job
type (1 credit); `--film` makes it a full generation with a 180-pixel draft picture instead
(about 5 s per film here for one user alone, far more with 50 sharing two cores). The "job done"
row times each job from its creation to its end and counts one that does not succeed within
`--job-timeout` as an error.

Unless `--url` points at a running gateway, the bench starts the studio itself: `filmstudio
run` (every service, the gateway and the in-process workers on embedded defaults: SQLite, a
development key, bcrypt at its production cost) on free ports with a temporary
FILMSTUDIO_VAR_DIR, logging to a file there, and stops it at the end. `--postgres` gives it a
throwaway PostgreSQL database instead (tests/support/database.py, as bench/api.py). SQLite has
one write lock for the whole studio: under this load its writers queue (services/common/db.py,
SQLITE_BUSY_TIMEOUT_MS), so sign-ups and job creation are slower there than on PostgreSQL.

Client addresses: the studio allows 20 registrations an hour per client address
(services/user/throttle.py), so 50 users from one address would be refused from the 21st on.
Real users come from addresses of their own; so does each simulated one, in an X-Forwarded-For
header from 198.18.0.0/15 (the block set aside for benchmarks). The studio the bench starts
believes that header because it trusts its loopback peer as a proxy (TRUSTED_PROXIES=127.0.0.1,
::1, the default, set explicitly; docs/client-addresses.md): the bench stands where a load
balancer would. A gateway at `--url` believes it only if it trusts this machine; if not, the
registrations past 20 get 429.

Every answer that is not 2xx, every timeout and every connection error counts as an error,
and a 429 (rate limited) does too. The table prints, per endpoint, the requests, throughput,
p50 and p99 latency, the errors and the error rate, then the totals; the exit status is 1 if
any error happened.

    .venv/bin/python bench/load.py [--users 50] [--seconds 30] [--ramp 10] [--url URL]
                                   [--postgres] [--film] [--think 0] [--timeout 60]
                                   [--job-timeout 120]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench horse battery staple"
SCRIPT = """Title: Load Test

INT. STUDIO - NIGHT

A director watches the numbers climb on a wall of screens.

DIRECTOR
Again, faster.

EDITOR
Fifty of them at once?

DIRECTOR
Fifty. And nobody drops a frame.
"""
TERMINAL = {"JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED", "JOB_STATUS_CANCELLED"}
POLL_SECONDS = 0.25


@dataclass
class Stats:
    """Latencies and errors per endpoint, shared by every simulated user."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def record(self, endpoint: str, seconds: float, error: str | None) -> None:
        """Count one request to an endpoint, and its error if it failed."""
        self.latencies[endpoint].append(seconds)
        if error:
            self.errors[endpoint][error] += 1


class RequestFailed(Exception):
    """An answer a user cannot go on from (already counted in the stats)."""


@dataclass
class User:
    """One simulated user: its connection, address and what it has created so far."""

    number: int
    client: httpx.AsyncClient
    stats: Stats
    email: str = ""
    user: str = ""  # users/{id}
    project: str = ""  # projects/{id}
    job: str = ""  # jobs/{id}

    async def call(
        self, endpoint: str, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Make one request, record it under `endpoint`, and return its JSON body."""
        started = time.perf_counter()
        error: str | None = None
        try:
            response = await self.client.request(method, path, json=body)
            if response.status_code == 429:
                error = "429 rate limited"
            elif not response.is_success:
                error = f"{response.status_code} {response.text[:120]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__} {exc}"[:140]
        self.stats.record(endpoint, time.perf_counter() - started, error)
        if error:
            raise RequestFailed(error)
        return dict(response.json())


def address(number: int) -> str:
    """Return a distinct client address for user `number`, from the benchmarking block."""
    return f"198.18.{number // 250}.{number % 250 + 1}"


async def sign_up(user: User) -> None:
    """Register a unique account, sign in with it, and read the account back."""
    user.email = f"load-{uuid.uuid4().hex[:12]}-{user.number}@example.com"
    account = {"email": user.email, "password": PASSWORD, "firstName": f"User{user.number}"}
    await user.call("POST /v1/users:register", "POST", "/v1/users:register", account)
    credentials = {"email": user.email, "password": PASSWORD}
    tokens = await user.call("POST /v1/auth:login", "POST", "/v1/auth:login", credentials)
    user.client.headers["Authorization"] = f"Bearer {tokens['tokens']['accessToken']}"
    user.user = (await user.call("GET /v1/users/me", "GET", "/v1/users/me"))["name"]


async def make_project(user: User, film: bool) -> None:
    """Create a project from the small script, then list and read it and the credits."""
    project = {
        "title": f"Load test {user.number}",
        "script": SCRIPT,
        "style": "STYLE_NOIR",
        "targetDurationSeconds": 30 if film else 60,
        "resolution": "RESOLUTION_720P",
    }
    user.project = (await user.call("POST /v1/projects", "POST", "/v1/projects", project))["name"]
    await user.call("GET /v1/projects", "GET", "/v1/projects?pageSize=20")
    await user.call("GET /v1/projects/{id}", "GET", f"/v1/{user.project}")
    await user.call("GET /v1/users/{id}/credits", "GET", f"/v1/{user.user}/credits")


async def run_job(user: User, film: bool, job_timeout: float) -> None:
    """Create the job and poll it until it ends; record its time to the end as "job done"."""
    job: dict[str, Any] = {"project": user.project, "jobType": "JOB_TYPE_SCRIPT_ANALYSIS"}
    if film:
        job = {
            "project": user.project,
            "jobType": "JOB_TYPE_FULL_GENERATION",
            "parameters": {"extra": {"render_height": 180}},
        }
    started = time.perf_counter()
    user.job = (await user.call("POST /v1/jobs", "POST", "/v1/jobs", job))["name"]
    status = ""
    while time.perf_counter() - started < job_timeout:
        status = (await user.call("GET /v1/jobs/{id}", "GET", f"/v1/{user.job}"))["status"]
        if status in TERMINAL:
            break
        await asyncio.sleep(POLL_SECONDS)
    error = None if status == "JOB_STATUS_SUCCEEDED" else f"ended {status}"
    if status not in TERMINAL:
        error = f"not done after {job_timeout:g} s ({status})"
    user.stats.record("job done", time.perf_counter() - started, error)


async def read_loop(user: User, deadline: float, think: float) -> None:
    """Cycle through the read endpoints until the deadline."""
    reads = [
        ("GET /v1/users/me", "/v1/users/me"),
        ("GET /v1/projects", "/v1/projects?pageSize=20"),
        ("GET /v1/projects/{id}", f"/v1/{user.project}"),
        ("GET /v1/users/{id}/credits", f"/v1/{user.user}/credits"),
        ("GET /v1/jobs", "/v1/jobs?pageSize=20"),
        ("GET /v1/jobs/{id}", f"/v1/{user.job}"),
    ]
    while time.perf_counter() < deadline:
        for endpoint, path in reads:
            if time.perf_counter() >= deadline:
                return
            await user.call(endpoint, "GET", path)
            if think:
                await asyncio.sleep(think)


async def simulate(
    number: int, base_url: str, stats: Stats, deadline: float, args: argparse.Namespace
) -> None:
    """Run one user's whole flow on a connection of its own; stop at its first failure."""
    await asyncio.sleep(number * args.ramp / args.users)  # users arrive one after another
    headers = {"X-Forwarded-For": address(number), "User-Agent": "filmstudio-bench-load"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    timeout = httpx.Timeout(args.timeout)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=timeout
    ) as client:
        user = User(number, client, stats)
        try:
            await sign_up(user)
            await make_project(user, args.film)
            await run_job(user, args.film, args.job_timeout)
            await read_loop(user, deadline, args.think)
        except RequestFailed:
            return  # counted; a real user would be stuck here too


async def load(base_url: str, args: argparse.Namespace) -> tuple[Stats, float]:
    """Run every user, arriving over the ramp; return the stats and the elapsed wall time."""
    stats = Stats()
    started = time.perf_counter()
    deadline = started + args.seconds
    await asyncio.gather(
        *(simulate(number, base_url, stats, deadline, args) for number in range(args.users))
    )
    return stats, time.perf_counter() - started


# --- the studio ------------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now (as bench/api.py)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def studio_env(var: Path, grpc_port: int, http_port: int, database_url: str) -> dict[str, str]:
    """Return the environment of an embedded studio on its own ports and var directory."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(
        FILMSTUDIO_ENV="development",
        FILMSTUDIO_VAR_DIR=str(var),
        GRPC_HOST="127.0.0.1",
        GRPC_PORT=str(grpc_port),
        GATEWAY_HOST="127.0.0.1",
        GATEWAY_PORT=str(http_port),
        TRUSTED_PROXIES="127.0.0.1,::1",  # the bench is the proxy that names each user's address
        LOG_LEVEL="WARNING",
    )
    return env


@contextlib.contextmanager
def throwaway(args: argparse.Namespace) -> Iterator[str]:
    """Yield a fresh PostgreSQL database's URL with `--postgres` (dropped after), else ""."""
    if not args.postgres:
        yield ""
        return
    sys.path[:0] = [str(ROOT)]
    from tests.support.database import create_postgres_database, drop_postgres_database

    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


def wait_ready(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    """Wait until the gateway answers /readyz with 200, or fail with the studio's log."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the studio did not become ready:\n{log.read_text()[-3000:]}")


def start_studio(var: Path, database_url: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start `filmstudio run` on free ports; return the process and the gateway's URL."""
    grpc_port, http_port = free_port(), free_port()
    log = var / "studio.log"
    binary = ROOT / ".venv" / "bin" / "filmstudio"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(binary), "run"],
            env=studio_env(var, grpc_port, http_port, database_url),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{http_port}"
    try:
        wait_ready(process, base_url, log)
    except BaseException:
        stop_studio(process)
        raise
    return process, base_url


def stop_studio(process: subprocess.Popen[bytes]) -> None:
    """Stop the studio, killing it if it does not stop in time."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- the report ------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of `values` (not empty)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def row(label: str, latencies: list[float], errors: int, elapsed: float) -> str:
    """Format one line of the table."""
    count = len(latencies)
    p50 = percentile(latencies, 0.50) * 1000 if latencies else 0.0
    p99 = percentile(latencies, 0.99) * 1000 if latencies else 0.0
    rate = errors / count * 100 if count else 0.0
    return (
        f"{label:<28} {count:>8} {count / elapsed:>9.1f} {p50:>9.1f} {p99:>9.1f}"
        f" {errors:>7} {rate:>7.2f}%"
    )


def report(stats: Stats, elapsed: float, args: argparse.Namespace, where: str) -> int:
    """Print the table and every kind of error seen; return the number of errors."""
    print(
        f"{args.users} users, {args.seconds:g} s asked, {elapsed:.1f} s taken, {where}"
        f" ({os.cpu_count()} CPUs)"
    )
    print(
        f"{'endpoint':<28} {'requests':>8} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} errors   rate"
    )
    requests = {name: times for name, times in stats.latencies.items() if name != "job done"}
    for endpoint, latencies in requests.items():
        print(row(endpoint, latencies, sum(stats.errors[endpoint].values()), elapsed))
    every = [seconds for latencies in requests.values() for seconds in latencies]
    total_errors = sum(sum(stats.errors[endpoint].values()) for endpoint in requests)
    print(row("total (HTTP requests)", every, total_errors, elapsed))
    job_errors = sum(stats.errors["job done"].values())
    print(row("job done (create to end)", stats.latencies["job done"], job_errors, elapsed))
    for endpoint, kinds in stats.errors.items():
        for kind, count in kinds.most_common():
            print(f"error: {endpoint}: {count} x {kind}")
    return total_errors + job_errors


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50, help="simulated users (default 50)")
    parser.add_argument("--seconds", type=float, default=30, help="run time (default 30)")
    parser.add_argument("--url", help="a running gateway, e.g. http://127.0.0.1:8080")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL database")
    parser.add_argument("--film", action="store_true", help="full-generation drafts (slow)")
    parser.add_argument("--ramp", type=float, default=10, help="users arrive over (default 10 s)")
    parser.add_argument("--think", type=float, default=0, help="pause between reads, seconds")
    parser.add_argument("--timeout", type=float, default=60, help="per request (default 60 s)")
    parser.add_argument("--job-timeout", type=float, default=120, help="per job (default 120 s)")
    return parser.parse_args()


def main() -> int:
    """Start the studio unless --url is given, run the load, print the table."""
    args = parse_args()
    if args.url:
        stats, elapsed = asyncio.run(load(args.url.rstrip("/"), args))
        return 1 if report(stats, elapsed, args, args.url) else 0
    with tempfile.TemporaryDirectory(prefix="filmstudio-load-") as var, throwaway(args) as url:
        process, base_url = start_studio(Path(var), url)
        try:
            stats, elapsed = asyncio.run(load(base_url, args))
        finally:
            stop_studio(process)
        where = f"`filmstudio run` on {'PostgreSQL' if url else 'SQLite'}, started by the bench"
        errors = report(stats, elapsed, args, where)
        if errors:
            print(f"studio log: {(Path(var) / 'studio.log').read_text()[-2000:]}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
