"""Deductions per second over gRPC next to pgbench's simple-update transactions, in one run.

Runs a real server (CreditsService) on a throwaway PostgreSQL database and drives DeductCredits
of 1 credit from `--concurrency` clients in a separate process (as other services would call
it): first spread over `--users` accounts, as pgbench -N spreads its updates over 100,000
accounts, then all on one hot account. pgbench runs on another throwaway database with as many
clients before and after the spread load (`-N`, simple update; the ratio uses their mean), and
once with -N's transaction on one row as the baseline of the hot case. Both sides start warm.
Usage: .venv/bin/python bench/credits.py [--seconds 8] [--concurrency 32] [--users 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import multiprocessing
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path[:0] = [
    str(Path(__file__).resolve().parents[1]),
    str(Path(__file__).resolve().parents[1] / "gen"),
]

import grpc  # noqa: E402
import psycopg  # noqa: E402
from filmstudio.v1 import credits_pb2, credits_pb2_grpc  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from services.common.loop import run_on_uvloop  # noqa: E402
from services.common.registry import SERVICES  # noqa: E402
from services.user.models import UserRow  # noqa: E402
from tests.support.database import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.support.studio import running_studio, studio_settings  # noqa: E402

CHANNELS = 4
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


async def _run_client(
    target: str, token: str, users: list[str], seconds: float, concurrency: int
) -> list[float]:
    """Run the load in a separate process while this one keeps serving."""
    receive, send = multiprocessing.Pipe(duplex=False)
    client = multiprocessing.get_context("spawn").Process(
        target=_client, args=(target, token, users, seconds, concurrency, send)
    )
    client.start()
    result: list[float] = await asyncio.to_thread(receive.recv)  # the loop keeps serving
    client.join()
    return result


async def _funded_users(server: Any, count: int) -> list[str]:
    """Create `count` users holding 10^9 purchased credits each, through the domain."""
    async with server.app.database.session() as db, db.begin():
        rows = [UserRow(email=f"bench-{i}@example.com") for i in range(count)]
        db.add_all(rows)
        await db.flush()
        ids = [row.id for row in rows]
    credits = server.app.credits_service()
    for start in range(0, count, 50):
        await asyncio.gather(
            *(
                credits.add_credits(uid, 10**9, "purchase", idempotency_key=f"fund-{uid}")
                for uid in ids[start : start + 50]
            )
        )
    return [f"users/{uid}" for uid in ids]


async def measure(seconds: float, concurrency: int, accounts: int) -> dict[str, Any]:
    """Run the gRPC loads with pgbench before and after each, on the same machine, in turn."""
    url = create_postgres_database()
    found: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as var:
            settings = studio_settings(Path(var), url, DATABASE_POOL_SIZE=concurrency)
            async with running_studio(settings, [SERVICES["credits"]]) as (server, _):
                users = await _funded_users(server, accounts)
                token = server.app.tokens.issue_service_token("bench")
                target = settings.grpc_address
                # As pgbench -i ends with VACUUM, and both sides start warm: connections open,
                # statements prepared.
                await asyncio.to_thread(_vacuum, url)
                await _run_client(target, token, users, WARM_UP_SECONDS, concurrency)
                pgbench = functools.partial(
                    asyncio.to_thread, measure_pgbench, seconds, concurrency
                )
                found["tps_before"] = await pgbench()
                found["spread"] = await _run_client(target, token, users, seconds, concurrency)
                found["tps_after"] = await pgbench()
                found["hot"] = await _run_client(target, token, users[:1], seconds, concurrency)
                found["hot_tps"] = await pgbench(HOT_ROW)
                found["clean"] = (await server.app.credits_service().verify_ledger()).clean
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


def main(seconds: float, concurrency: int, accounts: int) -> None:
    """Measure and print the table."""
    found = run_on_uvloop(measure(seconds, concurrency, accounts))  # as `filmstudio serve`
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
    arguments = parser.parse_args()
    main(arguments.seconds, arguments.concurrency, arguments.users)
