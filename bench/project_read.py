"""CPU per GetProject read in the domain (no gRPC): the ORM session path against the hot read.

Both paths run in one process against one throwaway PostgreSQL database, alternating rounds,
and the ratio is taken within each round (the machine is shared). The ORM path is what
`listing.one` did before issue 27: an AsyncSession, `session.get`, an ORM object, `to_project`;
the hot read is `listing.one` now: one Core statement on asyncpg (services/common/hot_reads.py).
Usage: .venv/bin/python bench/project_read.py [--calls 2000] [--rounds 4]
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

from services.bootstrap import build_app  # noqa: E402
from services.common.caller import Caller  # noqa: E402
from services.common.db import Database  # noqa: E402
from services.common.migrate import migrate  # noqa: E402
from services.project import listing  # noqa: E402
from services.project.access import owned  # noqa: E402
from services.project.project_service import ProjectService  # noqa: E402
from services.project.records import Project, to_project  # noqa: E402
from services.user.user_service import UserService  # noqa: E402
from tests.support.database import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.support.studio import studio_settings  # noqa: E402


async def orm_read(database: Database, project_id: int, caller: Caller) -> Project:
    """The session path: what GetProject's read was before."""
    async with database.reader() as db:
        return to_project(await owned(db, project_id, caller))


async def cpu_per_call(read: Callable[[], Awaitable[Project]], calls: int) -> float:
    """Return the CPU microseconds one read costs, over `calls` sequential reads."""
    start = time.process_time()
    for _ in range(calls):
        await read()
    return (time.process_time() - start) / calls * 1e6


async def main(calls: int, rounds: int) -> None:
    """Seed one project, then alternate the two paths and print the table."""
    url = create_postgres_database()
    try:
        with tempfile.TemporaryDirectory() as var:
            settings = studio_settings(Path(var), url)
            app = build_app(settings)
            await migrate(settings.effective_database_url)
            users = app.get(UserService)
            await users.register_user("reader@example.com", "a long passphrase 123", "A", "B")
            user = await users.get_user_by_email("reader@example.com")
            project = await app.get(ProjectService).create_project(
                user.id, "Bench", "INT. ROOM - DAY\n\nHi.\n"
            )
            caller = Caller(user.id, False, f"users/{user.id}")
            paths = {
                "ORM session": lambda: orm_read(app.database, project.id, caller),
                "hot read (listing.one)": lambda: listing.one(app.database, project.id, caller),
            }
            assert await paths["ORM session"]() == await paths["hot read (listing.one)"]()
            for read in paths.values():  # warm: pools, prepared statements, caches
                await cpu_per_call(read, 200)
            costs: dict[str, list[float]] = {name: [] for name in paths}
            for round_ in range(rounds):
                order = list(paths) if round_ % 2 == 0 else list(reversed(paths))
                for name in order:
                    costs[name].append(await cpu_per_call(paths[name], calls))
            await app.close()
    finally:
        drop_postgres_database(url)
    ratios = [
        hot / orm
        for hot, orm in zip(costs["hot read (listing.one)"], costs["ORM session"], strict=True)
    ]
    print(f"{'path':<22}{'CPU µs/call (median)':>22}")
    for name, values in costs.items():
        print(f"{name:<22}{statistics.median(values):>22.0f}")
    print(
        f"hot read / ORM CPU: {statistics.median(ratios):.2f} (each round: "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + ")"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.calls, arguments.rounds))
