"""Deductions per second over gRPC next to pgbench's simple-update transactions, in one run.

Runs the real server as production does (`filmstudio serve --services credits --processes N`,
one copy per core by default, on a throwaway PostgreSQL database) and drives DeductCredits of 1
credit from `--concurrency` clients in a separate process (as other services would call it):
first spread over `--users` accounts, as pgbench -N spreads its updates over 100,000 accounts,
then all on one hot account. pgbench runs on another throwaway database with as many clients
before and after the spread load (`-N`, simple update; the ratio uses their mean), and once with
-N's transaction on one row as the baseline of the hot case. Both sides start warm.

The load comes from bench/grpc_load.cc, a C++ client built here on first use (g++ and Debian's
libgrpc++-dev), as pgbench's load comes from C: a Python client costs the shared 2 cores about
a quarter of a millisecond per call and caps the rate near 1,500/s whatever the server does.
Without a compiler or gRPC's C++ headers the Python client runs instead, and the table says so.
Usage: .venv/bin/python bench/credits.py [--seconds 8] [--concurrency 32] [--users 1000]
       [--processes N] [--python-client]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "gen")]

import grpc  # noqa: E402
import psycopg  # noqa: E402
from filmstudio.v1 import credits_pb2, credits_pb2_grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.cxx import build_client  # noqa: E402
from services.bootstrap import build_app  # noqa: E402
from services.common.app import App  # noqa: E402
from services.common.config import Settings  # noqa: E402
from services.common.loop import run_on_uvloop  # noqa: E402
from services.common.migrate import migrate  # noqa: E402
from services.credits.credits_service import CreditsService  # noqa: E402
from services.user.models import UserRow  # noqa: E402
from tests.support.database import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.support.studio import TEST_JWT_SECRET, studio_settings  # noqa: E402

CHANNELS = 4
DEDUCT = "/filmstudio.v1.CreditsService/DeductCredits"
WARM_UP_SECONDS = 2.0

# pgbench -N's transaction, on one row: the baseline for one hot account.
HOT_ROW = """\\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = 1;
SELECT abalance FROM pgbench_accounts WHERE aid = 1;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 1, :delta, now());
END;
"""


def _drive(
    target: str, token: str, users: list[str], seconds: float, concurrency: int
) -> list[float]:
    """Keep `concurrency` DeductCredits in flight for `seconds`; return rate, p50, failures.

    The synchronous stub's futures leave the I/O to gRPC's C core, so the client takes less
    of the machine's CPU than an asyncio client would (pgbench's client is C, too).
    """
    channels = [grpc.insecure_channel(target) for _ in range(CHANNELS)]
    stubs = [credits_pb2_grpc.CreditsServiceStub(channel) for channel in channels]
    auth = (("authorization", f"Bearer {token}"),)
    latencies: list[float] = []
    failures = itertools.count()
    numbers = itertools.count()
    prefix = uuid.uuid4().hex
    deadline = time.perf_counter() + seconds
    running = threading.Semaphore(0)

    def call(slot: int) -> None:
        if time.perf_counter() >= deadline:
            running.release()
            return
        request = credits_pb2.DeductCreditsRequest(
            user=random.choice(users),
            amount=1,
            reason="bench",
            request_id=f"{prefix}-{next(numbers)}",
        )
        started = time.perf_counter()
        future = stubs[slot % CHANNELS].DeductCredits.future(request, metadata=auth, timeout=30)

        def done(finished: Any) -> None:
            if finished.exception() is None:
                latencies.append(time.perf_counter() - started)
            else:
                next(failures)
            call(slot)

        future.add_done_callback(done)

    started = time.perf_counter()
    for slot in range(concurrency):
        call(slot)
    for _ in range(concurrency):
        running.acquire()
    elapsed = time.perf_counter() - started
    for channel in channels:
        channel.close()
    return [len(latencies) / elapsed, statistics.median(latencies) * 1000, next(failures)]


def _client(
    target: str, token: str, users: list[str], seconds: float, concurrency: int, out: Any
) -> None:
    out.send(_drive(target, token, users, seconds, concurrency))


async def _run_python_client(
    target: str, token: str, users: list[str], seconds: float, concurrency: int
) -> list[float]:
    """Run the Python load in a separate process while this one waits."""
    receive, send = multiprocessing.Pipe(duplex=False)
    client = multiprocessing.get_context("spawn").Process(
        target=_client, args=(target, token, users, seconds, concurrency, send)
    )
    client.start()
    result: list[float] = await asyncio.to_thread(receive.recv)
    client.join()
    return result


def _write_requests(path: Path, users: list[str], count: int) -> None:
    """Write `count` DeductCredits requests, each with its own key, for the C++ client."""
    prefix = uuid.uuid4().hex
    with path.open("wb") as out:
        for number in range(count):
            body = credits_pb2.DeductCreditsRequest(
                user=random.choice(users), amount=1, reason="bench", request_id=f"{prefix}-{number}"
            ).SerializeToString()
            out.write(len(body).to_bytes(4, "little") + body)


async def _run_cxx_client(
    binary: Path, target: str, token: str, users: list[str], seconds: float, concurrency: int
) -> list[float]:
    """Run the C++ load generator; return rate, p50 ms and failures as the Python one does."""
    with tempfile.TemporaryDirectory() as folder:
        requests = Path(folder) / "requests"
        await asyncio.to_thread(_write_requests, requests, users, int(seconds * 10_000) + 10_000)
        command = [
            str(binary), target, DEDUCT, str(requests), str(seconds), str(concurrency),
            str(CHANNELS), f"authorization=Bearer {token}",
        ]  # fmt: skip
        done = await asyncio.to_thread(
            subprocess.run, command, capture_output=True, text=True, check=True
        )
    found = json.loads(done.stdout)
    if found["exhausted"]:
        raise SystemExit("the C++ client ran out of requests; raise the count in _run_cxx_client")
    if found["failures"]:
        print(f"failed calls, the first: {found['first_error']}")
    return [found["calls"] / found["seconds"], found["p50_ms"], found["failures"]]


async def _funded_users(app: App, count: int) -> list[str]:
    """Create `count` users holding 10^9 purchased credits each, through the domain."""
    async with app.database.session() as db, db.begin():
        rows = [UserRow(email=f"bench-{i}@example.com") for i in range(count)]
        db.add_all(rows)
        await db.flush()
        ids = [row.id for row in rows]
    credits = app.get(CreditsService)
    for start in range(0, count, 50):
        await asyncio.gather(
            *(
                credits.add_credits(uid, 10**9, "purchase", idempotency_key=f"fund-{uid}")
                for uid in ids[start : start + 50]
            )
        )
    return [f"users/{uid}" for uid in ids]


def _server_environment(settings: Settings) -> dict[str, str]:
    """Return the environment that makes `filmstudio serve` use these settings."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "gen")]),
        "FILMSTUDIO_ENV": "test",
        "FILMSTUDIO_VAR_DIR": str(settings.var_dir),
        "DATABASE_URL": settings.effective_database_url,
        "DATABASE_POOL_SIZE": str(settings.database_pool_size),
        "JWT_SECRET": TEST_JWT_SECRET,
        "GRPC_PORT": str(settings.grpc_port),
        "LOG_LEVEL": "WARNING",
    }


@contextmanager
def _served(settings: Settings, processes: int) -> Iterator[None]:
    """Run `filmstudio serve --services credits --processes N` until the block ends."""
    command = [sys.executable, "-m", "services.cli", "serve", "--services", "credits"]
    server = subprocess.Popen(
        [*command, "--processes", str(processes)], env=_server_environment(settings), cwd=ROOT
    )
    try:
        channel = grpc.insecure_channel(settings.grpc_target)
        grpc.channel_ready_future(channel).result(timeout=60)
        health = health_pb2_grpc.HealthStub(channel)
        health.Check(health_pb2.HealthCheckRequest(), timeout=10)
        channel.close()
        yield
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


async def measure(
    seconds: float, concurrency: int, accounts: int, processes: int, python_client: bool
) -> dict[str, Any]:
    """Run the gRPC loads with pgbench before and after each, on the same machine, in turn."""
    url = create_postgres_database()
    binary = None if python_client else await asyncio.to_thread(build_client, "grpc_load")
    found: dict[str, Any] = {"client": "C++ (bench/grpc_load.cc)" if binary else "Python"}
    try:
        with tempfile.TemporaryDirectory() as var:
            # Each copy sees about its share of the calls; pgbench needs connections too.
            pool = -(-concurrency // processes)
            settings = studio_settings(Path(var), url, DATABASE_POOL_SIZE=pool)
            await migrate(url)
            app = build_app(settings)
            try:
                users = await _funded_users(app, accounts)
                token = app.tokens.issue_service_token("bench")
            finally:
                await app.close()
            target = settings.grpc_target

            async def load(on: list[str], for_seconds: float) -> list[float]:
                if binary is not None:
                    return await _run_cxx_client(
                        binary, target, token, on, for_seconds, concurrency
                    )
                return await _run_python_client(target, token, on, for_seconds, concurrency)

            with _served(settings, processes):
                # As pgbench -i ends with VACUUM, and both sides start warm: connections open,
                # statements prepared.
                await asyncio.to_thread(_vacuum, url)
                await load(users, WARM_UP_SECONDS)
                pgbench = functools.partial(
                    asyncio.to_thread, measure_pgbench, seconds, concurrency
                )
                found["tps_before"] = await pgbench()
                found["spread"] = await load(users, seconds)
                found["tps_after"] = await pgbench()
                found["hot"] = await load(users[:1], seconds)
                found["hot_tps"] = await pgbench(HOT_ROW)
            app = build_app(settings)
            try:
                found["clean"] = (await app.get(CreditsService).verify_ledger()).clean
            finally:
                await app.close()
    finally:
        drop_postgres_database(url)
    return found


def _vacuum(url: str) -> None:
    """VACUUM ANALYZE the database (autocommit: VACUUM cannot run in a transaction)."""
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def _pgbench() -> str:
    found = shutil.which("pgbench") or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None
    )
    if found is None:
        raise SystemExit("pgbench not found (apt-get install postgresql-client)")
    return found


def measure_pgbench(seconds: float, concurrency: int, script: str = "") -> float:
    """Return pgbench -N (simple update) transactions per second on a throwaway database.

    With `script`, run that custom script instead of -N (the hot-row case).
    """
    url = make_url(create_postgres_database())
    connection = [
        "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"
    ]  # fmt: skip
    try:
        pgbench = _pgbench()
        subprocess.run(
            [pgbench, "-i", "-q", "-s", "1", *connection, url.database or ""],
            check=True,
            capture_output=True,
        )
        with tempfile.NamedTemporaryFile("w", suffix=".sql") as custom:
            custom.write(script)
            custom.flush()
            workload = ["-f", custom.name] if script else ["-N"]
            result = subprocess.run(
                [
                    pgbench,
                    *workload,
                    "-c",
                    str(concurrency),
                    "-j",
                    "2",
                    "-T",
                    str(int(seconds)),
                    *connection,
                    url.database or "",
                ],
                check=True,
                capture_output=True,
                text=True,
            )
    finally:
        drop_postgres_database(url.render_as_string(hide_password=False))
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", result.stdout)
    if match is None:
        raise SystemExit(f"cannot read pgbench's tps from:\n{result.stdout}")
    return float(match.group(1))


def main(arguments: argparse.Namespace) -> None:
    """Measure and print the table."""
    seconds, concurrency, accounts = arguments.seconds, arguments.concurrency, arguments.users
    processes = arguments.processes or os.cpu_count() or 1
    found = run_on_uvloop(
        measure(seconds, concurrency, accounts, processes, arguments.python_client)
    )
    spread, hot, hot_tps = found["spread"], found["hot"], found["hot_tps"]
    tps = (found["tps_before"] + found["tps_after"]) / 2
    rows = [
        (f"DeductCredits, {accounts} accounts", spread[0], f"{spread[1]:.2f}", tps),
        ("pgbench -N, 100000 accounts (before)", found["tps_before"], "", tps),
        ("pgbench -N, 100000 accounts (after)", found["tps_after"], "", tps),
        ("DeductCredits, 1 hot account", hot[0], f"{hot[1]:.2f}", hot_tps),
        ("pgbench -N's transaction on 1 row", hot_tps, "", hot_tps),
    ]
    print(f"{concurrency} concurrent clients, {seconds:g} s each; pgbench runs around each load")
    print(f"server: filmstudio serve --processes {processes}; load: {found['client']} client")
    print(f"{'what':<40}{'per s':>10}{'p50 ms':>10}{'vs pgbench':>12}")
    for name, rate, p50, baseline in rows:
        print(f"{name:<40}{rate:>10.1f}{p50:>10}{rate / baseline:>12.2f}")
    print(f"\nratio deductions/s : pgbench -N tps = {spread[0] / tps:.2f} (goal >= 0.25)")
    failures = int(spread[2] + hot[2])
    print(
        f"failed calls: {failures}; ledger verify: {'clean' if found['clean'] else 'DIFFERENCES'}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=0, help="server copies (default: cores)")
    parser.add_argument("--python-client", action="store_true", help="skip the C++ client")
    main(parser.parse_args())
