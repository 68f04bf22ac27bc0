"""Outages of Redis and PostgreSQL: readers end with their calls, codes say retry, workers live."""

from __future__ import annotations

import asyncio
import contextlib

import grpc
import pytest
import redis.asyncio as redis
from filmstudio.v1 import (
    ai_job_pb2,
    common_pb2,
    credits_pb2,
    credits_pb2_grpc,
    project_pb2,
    project_pb2_grpc,
)
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.ai_job.events import RedisEventBus
from services.bootstrap import resolve
from tests.support.jobs import JOB_SETTINGS, funded_studio
from tests.support.outages import private_postgres, private_redis
from tests.support.studio import running_studio, studio_settings
from tests.support.workers import REDIS_URL, Workers, production_studio

SUCCEEDED, FAILED = common_pb2.JOB_STATUS_SUCCEEDED, common_pb2.JOB_STATUS_FAILED


def _readers() -> list[asyncio.Task[object]]:
    """Return the Redis stream readers still running in this loop."""
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done()
        and getattr(task.get_coro(), "__qualname__", "") == RedisEventBus._read.__qualname__
    ]


async def _watch_until_cancelled(stub, request, auth, started: asyncio.Event) -> None:
    call = stub.WatchJob(request, metadata=auth, timeout=60)
    with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
        async for _ in call:
            started.set()


async def test_watch_job_readers_end_with_their_calls_across_a_redis_restart(
    tmp_path, postgres_url
) -> None:
    with private_redis(tmp_path) as redis_server:
        settings = studio_settings(
            tmp_path / "var",
            postgres_url,
            REDIS_URL=redis_server.url,
            QUEUE_PREFIX="outage",
            WORKER_CONCURRENCY=0,
            **JOB_SETTINGS,
        )
        async with running_studio(settings) as (server, channel):
            studio = await funded_studio(server, channel)
            job = await studio.create(diagnostic={"sleep_seconds": 0})
            request = ai_job_pb2.WatchJobRequest(name=job.name)

            # A watcher follows the job live; then Redis goes away under it.
            started = asyncio.Event()
            first = asyncio.ensure_future(
                _watch_until_cancelled(studio.jobs, request, studio.auth, started)
            )
            await asyncio.wait_for(started.wait(), 10)
            assert len(_readers()) == 1
            redis_server.stop()

            await asyncio.sleep(0.3)  # its reader is retrying
            first.cancel()
            await asyncio.gather(first, return_exceptions=True)

            # A watcher that arrives during the outage is told to retry, not INTERNAL.
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                async for _ in studio.jobs.WatchJob(request, metadata=studio.auth, timeout=10):
                    pass
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE

            # Redis is back: a new watcher follows, and leaves.
            redis_server.start()
            started = asyncio.Event()
            second = asyncio.ensure_future(
                _watch_until_cancelled(studio.jobs, request, studio.auth, started)
            )
            await asyncio.sleep(1.0)  # its reader is up (the stream is empty after the restart)
            second.cancel()
            await asyncio.gather(second, return_exceptions=True)

            # Every reader ends with the calls it served, within one blocking read.
            for _ in range(80):
                if not _readers():
                    break
                await asyncio.sleep(0.1)
            assert _readers() == []


@pytest.fixture
async def redis_studio(tmp_path, postgres_url):
    """A studio on a private Redis, no in-process workers, and `filmstudio worker` processes."""
    with private_redis(tmp_path) as redis_server:
        production = production_studio(
            tmp_path / "var", postgres_url, "outage", REDIS_URL=redis_server.url
        )
        async with production as (server, channel, var):
            pool = Workers((server, channel, var), "outage", REDIS_URL=redis_server.url)
            try:
                yield redis_server, await funded_studio(server, channel, credits=2000), pool
            finally:
                pool.stop_all()


async def _runs_a_job(studio) -> None:
    project = await studio.new_project()
    job = await studio.create(project=project, diagnostic={"sleep_seconds": 0})
    done = await studio.wait_for(job.name, SUCCEEDED, FAILED, within=20)
    assert done.status == SUCCEEDED, done.error


async def test_a_worker_rides_out_a_redis_restart(redis_studio) -> None:
    redis_server, studio, workers = redis_studio
    worker = workers.start("--name", "survivor")
    await _runs_a_job(studio)
    redis_server.stop()
    await asyncio.sleep(2)
    redis_server.start()
    await asyncio.sleep(1)
    assert worker.poll() is None, "the worker exited with Redis"
    await _runs_a_job(studio)


async def test_a_killed_worker_restarts_under_its_name_at_once(redis_studio) -> None:
    _, studio, workers = redis_studio
    first = workers.start("--name", "phoenix")
    await _runs_a_job(studio)
    workers.kill(first)
    again = workers.start("--name", "phoenix")
    await _runs_a_job(studio)
    assert again.poll() is None


def _retry_delay(error: grpc.aio.AioRpcError) -> float | None:
    """Return the RetryInfo delay an error carries (None: none)."""
    status = rpc_status.from_call(error)
    for detail in status.details if status is not None else ():
        info = error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            return info.retry_delay.ToNanoseconds() / 1e9
    return None


async def test_database_crash_restarts_answer_unavailable_with_retry_info(tmp_path) -> None:
    with private_postgres() as database:
        # The readers below call again the moment an answer comes, and answers come fast while
        # the database is down: no read limit, so that each answer is the database's.
        settings = studio_settings(
            tmp_path / "var", database.url, RATE_LIMITS={"read": {"per_minute": 0}}
        )
        async with running_studio(settings, resolve("user,project,credits")) as (server, channel):
            studio = await funded_studio(server, channel, credits=100_000)
            stub = credits_pb2_grpc.CreditsServiceStub(channel)
            counter = iter(range(1_000_000))

            async def deduct() -> grpc.aio.AioRpcError | None:
                request = credits_pb2.DeductCreditsRequest(
                    user=studio.user, amount=1, reason="render", request_id=f"d-{next(counter)}"
                )
                try:
                    await stub.DeductCredits(request, metadata=studio.internal, timeout=20)
                except grpc.aio.AioRpcError as error:
                    return error
                return None

            projects = project_pb2_grpc.ProjectServiceStub(channel)

            async def read() -> grpc.aio.AioRpcError | None:
                # GetProject runs on the hot-read pool (asyncpg), not SQLAlchemy's.
                request = project_pb2.GetProjectRequest(name=studio.project)
                try:
                    await projects.GetProject(request, metadata=studio.auth, timeout=20)
                except grpc.aio.AioRpcError as error:
                    return error
                return None

            async def load(stop: asyncio.Event) -> list[grpc.aio.AioRpcError | None]:
                outcomes: list[grpc.aio.AioRpcError | None] = []
                while not stop.is_set():
                    calls = [deduct() for _ in range(4)] + [read() for _ in range(4)]
                    outcomes.extend(await asyncio.gather(*calls))
                return outcomes

            stop = asyncio.Event()
            running = asyncio.ensure_future(load(stop))
            for _ in range(3):  # crash (immediate stop: no goodbye to clients), then restart
                await asyncio.sleep(0.3)
                await asyncio.to_thread(database.stop, "immediate")
                await asyncio.sleep(0.3)
                await asyncio.to_thread(database.start)
            await asyncio.sleep(0.5)
            stop.set()
            outcomes = await running

    failures = [o for o in outcomes if o is not None]
    assert any(o is not None for i, o in enumerate(outcomes) if i % 8 >= 4), "no read saw it"
    assert failures, "the outages were not seen"
    assert {f.code() for f in failures} == {grpc.StatusCode.UNAVAILABLE}, {
        (f.code(), f.details()) for f in failures
    }
    assert all(_retry_delay(f) for f in failures)
    assert outcomes[-8:] == [None] * 8, "calls succeed again once the database is back"


class _ReadCutOnLeaving:
    """Redis readers whose blocking XREAD swallows its cancellation and then fails.

    Injected because the real race cannot be staged on demand: redis-py can lose a cancellation
    that lands while it reconnects, and the read then fails on the connection it closed.
    """

    async def xread(self, *_: object, **__: object) -> object:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(30)
        raise redis.ConnectionError("Connection closed by server.")

    async def aclose(self) -> None:
        """Nothing to close."""


async def test_a_reader_whose_watchers_left_ends_without_a_warning(caplog) -> None:
    bus = RedisEventBus(REDIS_URL, prefix="test-readers-leaving")  # reads, writes nothing
    bus._readers = _ReadCutOnLeaving()
    try:
        async with bus.follow(7):
            await asyncio.sleep(0.05)  # the reader is in its blocking read
            reader = bus._fanout[7].reader
        assert reader is not None
        with caplog.at_level("WARNING", logger="services.ai_job.events"):
            await asyncio.wait_for(asyncio.shield(reader), timeout=2)
        # A watch that ended is no Redis failure: nothing for an operator to chase.
        assert not [r for r in caplog.records if "event stream read failed" in r.message]
    finally:
        await bus.close()
