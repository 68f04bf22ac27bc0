"""Sign-in throughput, and the cost of VerifyToken next to a bare authenticated no-op RPC.

Runs a real server (UserService plus a no-op ProjectService.GetProject) on a throwaway
PostgreSQL database, drives it over gRPC from the same process, and prints ratios measured in
this run. Usage: .venv/bin/python bench/users.py [--seconds 4] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from filmstudio.v1 import project_pb2, project_pb2_grpc, user_pb2, user_pb2_grpc  # noqa: E402

from services.bootstrap import SERVICES  # noqa: E402
from tests.support.database import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.support.faulty import faulty_specs  # noqa: E402
from tests.support.studio import running_studio, studio_settings  # noqa: E402

PASSWORD = "correct horse battery staple"


async def measure(
    call: Callable[[], Awaitable[object]], seconds: float, concurrency: int
) -> tuple[float, float]:
    """Run `call` from `concurrency` workers for `seconds`; return (calls/s, p50 ms)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, statistics.median(latencies) * 1000


async def main(seconds: float, concurrency: int) -> None:
    """Measure and print the table."""
    url = create_postgres_database()
    try:
        with tempfile.TemporaryDirectory() as var:
            # Production cost: bcrypt 12, as users get it.
            settings = studio_settings(
                Path(var),
                url,
                BCRYPT_ROUNDS=12,
                # Throughput, not rate limits: buckets that never run dry (still checked).
                RATE_LIMITS={"auth": {"per_minute": 1e9, "burst": 1e9}},
            )
            specs = [SERVICES["user"], faulty_specs()[0]]
            async with running_studio(settings, specs) as (server, channel):
                users = user_pb2_grpc.UserServiceStub(channel)
                projects = project_pb2_grpc.ProjectServiceStub(channel)
                service_token = server.app.tokens.issue_service_token("bench")
                await users.RegisterUser(
                    user_pb2.RegisterUserRequest(email="bench@example.com", password=PASSWORD)
                )
                login = user_pb2.LoginRequest(email="bench@example.com", password=PASSWORD)
                access = (await users.Login(login)).tokens.access_token
                user_auth = (("authorization", f"Bearer {access}"),)
                service_auth = (("authorization", f"Bearer {service_token}"),)
                verify = user_pb2.VerifyTokenRequest(access_token=access)
                noop = project_pb2.GetProjectRequest(name="projects/1")

                async def login_once() -> None:
                    await users.Login(login)

                async def noop_once() -> None:
                    await projects.GetProject(noop, metadata=user_auth)

                async def verify_once() -> None:
                    await users.VerifyToken(verify, metadata=service_auth)

                rows = [
                    ("Login (bcrypt 12)", await measure(login_once, seconds, 4)),
                    ("no-op authenticated RPC", await measure(noop_once, seconds, concurrency)),
                    ("VerifyToken", await measure(verify_once, seconds, concurrency)),
                ]
    finally:
        drop_postgres_database(url)
    baseline = rows[1][1]
    print(f"{'what':<26}{'calls/s':>10}{'p50 ms':>10}{'vs no-op (throughput)':>24}")
    for name, (rate, p50) in rows:
        print(f"{name:<26}{rate:>10.1f}{p50:>10.2f}{rate / baseline[0]:>24.2f}")
    verify_rate = rows[2][1][0]
    print(f"\nVerifyToken cost = {baseline[0] / verify_rate:.2f}x a no-op authenticated RPC")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=16)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.seconds, arguments.concurrency))
