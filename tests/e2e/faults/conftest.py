"""The fault tests' studio: every service on a private PostgreSQL and Redis that a test may
crash and restart, two `filmstudio worker` processes, and the checks every fault must pass."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import grpc
import pytest
from filmstudio.v1 import (
    ai_job_pb2,
    common_pb2,
    credits_pb2,
    credits_pb2_grpc,
    project_pb2,
    project_pb2_grpc,
)
from sqlalchemy import select

from services.common.audit_verify import verify as verify_audit
from services.credits.credits_service import CreditsService
from services.credits.models import ReservationRow
from tests.support.jobs import Studio, funded_studio
from tests.support.outages import PrivatePostgres, PrivateRedis, private_postgres, private_redis
from tests.support.workers import Workers, production_studio

pytestmark = pytest.mark.postgres

ENDED = (
    common_pb2.JOB_STATUS_SUCCEEDED,
    common_pb2.JOB_STATUS_FAILED,
    common_pb2.JOB_STATUS_CANCELLED,
)
SCRIPT = "Title: Load\n\nINT. GARAGE - DAY\n\nBRICK\nAgain.\n"
ROUND_PAUSE, JOB_EVERY = 0.2, 4
# Every call of the load has this deadline: a call that hangs through an outage fails the test.
CALL_DEADLINE = 10.0


@dataclass
class Faulty:
    """The studio under test and the pieces a fault test breaks."""

    database: PrivatePostgres
    redis: PrivateRedis
    studio: Studio
    workers: Workers
    opening_balance: int


@pytest.fixture
async def faulty(tmp_path) -> AsyncIterator[Faulty]:
    """Serve every service on a private PostgreSQL and Redis, with two worker processes."""
    with private_postgres() as database, private_redis(tmp_path) as redis_server:
        production = production_studio(
            tmp_path / "var", database.url, "faults", REDIS_URL=redis_server.url
        )
        async with production as (server, channel, var):
            workers = Workers((server, channel, var), "faults", REDIS_URL=redis_server.url)
            try:
                workers.start()
                workers.start()
                studio = await funded_studio(server, channel, credits=100_000)
                # Read once first: it also grants the month's allowance, if due.
                opening = await studio.balance()
                yield Faulty(database, redis_server, studio, workers, opening)
            finally:
                workers.stop_all()


@dataclass
class Outcome:
    """One call of the load: what it was, how long it took, and its error if it failed."""

    name: str
    seconds: float
    error: grpc.aio.AioRpcError | None


@dataclass
class Load:
    """Users' calls, over and over, until stopped: reads, job creation and job polling."""

    studio: Studio
    outcomes: list[Outcome] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _counter: int = 0

    async def _timed(self, name: str, call: Callable[[], Awaitable[object]]) -> object | None:
        started = time.monotonic()
        try:
            result = await call()
        except grpc.aio.AioRpcError as error:
            self.outcomes.append(Outcome(name, time.monotonic() - started, error))
            return None
        self.outcomes.append(Outcome(name, time.monotonic() - started, None))
        return result

    async def _new_job(self) -> None:
        studio, auth = self.studio, self.studio.auth
        projects = project_pb2_grpc.ProjectServiceStub(studio.channel)
        # A project runs one job at a time: each round's job gets a project of its own.
        made = await self._timed(
            "CreateProject",
            lambda: projects.CreateProject(
                project_pb2.CreateProjectRequest(
                    project=project_pb2.Project(title=f"Load {self._counter}", script=SCRIPT)
                ),
                metadata=auth,
                timeout=CALL_DEADLINE,
            ),
        )
        if not isinstance(made, project_pb2.CreateProjectResponse):
            return
        job = ai_job_pb2.Job(
            project=made.project.name,
            job_type=common_pb2.JOB_TYPE_SCRIPT_ANALYSIS,
            priority=2,
        )
        job.parameters.extra.update({"diagnostic": {"sleep_seconds": 0.3}})
        request_id = f"load-{self._counter}"
        created = await self._timed(
            "CreateJob",
            lambda: studio.jobs.CreateJob(
                ai_job_pb2.CreateJobRequest(job=job, request_id=request_id),
                metadata=auth,
                timeout=CALL_DEADLINE,
            ),
        )
        if isinstance(created, ai_job_pb2.CreateJobResponse):
            self.jobs.append(created.job.name)

    async def _round(self) -> None:
        studio, auth = self.studio, self.studio.auth
        projects = project_pb2_grpc.ProjectServiceStub(studio.channel)
        credits = credits_pb2_grpc.CreditsServiceStub(studio.channel)
        self._counter += 1
        # One job a second, as a busy user makes them (more is the expensive class's limit).
        if self._counter % JOB_EVERY == 1:
            await self._new_job()
        reads: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            (
                "GetProject",
                lambda: projects.GetProject(
                    project_pb2.GetProjectRequest(name=studio.project),
                    metadata=auth,
                    timeout=CALL_DEADLINE,
                ),
            ),
            (
                "GetCredits",
                lambda: credits.GetCredits(
                    credits_pb2.GetCreditsRequest(name=f"{studio.user}/credits"),
                    metadata=auth,
                    timeout=CALL_DEADLINE,
                ),
            ),
            (
                "ListJobs",
                lambda: studio.jobs.ListJobs(
                    ai_job_pb2.ListJobsRequest(page_size=5), metadata=auth, timeout=CALL_DEADLINE
                ),
            ),
        ]
        if self.jobs:
            last = self.jobs[-1]
            reads.append(
                (
                    "GetJob",
                    lambda: studio.jobs.GetJob(
                        ai_job_pb2.GetJobRequest(name=last), metadata=auth, timeout=CALL_DEADLINE
                    ),
                )
            )
        await asyncio.gather(*(self._timed(name, call) for name, call in reads))

    async def _run(self) -> None:
        while not self._stop.is_set():
            await self._round()
            await asyncio.sleep(ROUND_PAUSE)

    async def __aenter__(self) -> Load:
        self._task = asyncio.ensure_future(self._run())
        await asyncio.sleep(1.0)  # a few rounds before the fault
        return self

    async def __aexit__(self, *_: object) -> None:
        self._stop.set()
        await self._task

    def failures(self) -> list[Outcome]:
        """Return the calls that failed."""
        return [outcome for outcome in self.outcomes if outcome.error is not None]

    def last_round_succeeded(self) -> bool:
        """Tell whether the final round's calls all succeeded (the studio recovered)."""
        tail = self.outcomes[-3:]  # a round ends with three reads or more
        return len(tail) == 3 and all(outcome.error is None for outcome in tail)


def assert_clear_errors(load: Load) -> None:
    """Failures during an outage are UNAVAILABLE with a retry delay, and none hung."""
    unclear = {
        (f.name, f.error.code(), f.error.details())
        for f in load.failures()
        if f.error is not None and f.error.code() != grpc.StatusCode.UNAVAILABLE
    }
    assert not unclear, unclear
    slowest = max(outcome.seconds for outcome in load.outcomes)
    assert slowest < CALL_DEADLINE, f"a call took {slowest:.1f} s"


async def all_jobs(studio: Studio) -> list[ai_job_pb2.Job]:
    """Return every job of the studio's user, read page by page."""
    jobs, token = [], ""
    while True:
        page = await studio.jobs.ListJobs(
            ai_job_pb2.ListJobsRequest(page_size=100, page_token=token), metadata=studio.auth
        )
        jobs.extend(page.jobs)
        token = page.next_page_token
        if not token:
            return jobs


async def assert_books_balance(faulty: Faulty, *, within: float = 60) -> list[ai_job_pb2.Job]:
    """No job is lost or stuck, every hold is resolved once, and the ledger and audit verify.

    Every job the user has (also one whose creation answered an error but committed) ends;
    each succeeded job's hold is captured and each other job's released, exactly its cost, the
    balance is what the captures leave, and both chains of record recompute clean.
    """
    studio = faulty.studio
    server = studio.server
    deadline = time.monotonic() + within
    while True:
        jobs = await all_jobs(studio)
        running = [job for job in jobs if job.status not in ENDED]
        if not running:
            break
        assert time.monotonic() < deadline, f"stuck: {[(j.name, j.status) for j in running]}"
        await asyncio.sleep(0.2)
    captured_total = 0
    deadline = time.monotonic() + within
    while True:
        async with server.app.database.session() as db:
            holds = {row.job: row for row in await db.scalars(select(ReservationRow))}
        unsettled = [
            job.name for job in jobs if job.name not in holds or holds[job.name].state == "pending"
        ]
        # A hold placed for a job whose creation then failed (the outage struck between the
        # two) is returned once the outage ends, not left to its hours-long TTL.
        names = {job.name for job in jobs}
        unsettled += [
            job for job, hold in holds.items() if job not in names and hold.state == "pending"
        ]
        if not unsettled:
            break
        assert time.monotonic() < deadline, f"holds never resolved: {unsettled}"
        await asyncio.sleep(0.2)
    for job in jobs:
        hold = holds[job.name]
        if job.status == common_pb2.JOB_STATUS_SUCCEEDED:
            assert (hold.state, hold.captured_amount) == ("captured", hold.amount), job.name
            captured_total += hold.captured_amount
        else:
            assert hold.state in ("released", "expired"), (job.name, hold.state, job.message)
            assert hold.captured_amount == 0, job.name
    for job, hold in holds.items():
        if job not in names:
            assert (hold.state, hold.captured_amount) == ("released", 0), (job, hold.state)
    expected = faulty.opening_balance - captured_total
    assert await studio.balance_becomes(expected) == expected
    assert (await server.app.get(CreditsService).verify_ledger()).clean
    assert (await verify_audit(server.app.database)).clean
    return jobs
