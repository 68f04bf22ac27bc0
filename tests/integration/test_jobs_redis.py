"""Jobs in production shape: Redis queues and streams, RQ worker processes, crash recovery."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid

import grpc
import hpack
import pytest
from filmstudio.v1 import ai_job_pb2, common_pb2

from gateway.h2c import frames as f
from services.ai_job.ai_job_service import AIJobService
from services.ai_job.models import JobRow
from services.credits.credits_service import CreditsService
from tests.support.jobs import check_watchers_agree, funded_studio
from tests.support.metrics import Samples, scrape_until, value
from tests.support.studio import bearer, free_port, signed_in
from tests.support.workers import Workers, descendants, production_studio, redis_prefix

RUNNING, SUCCEEDED = common_pb2.JOB_STATUS_RUNNING, common_pb2.JOB_STATUS_SUCCEEDED
ENDED = (SUCCEEDED, common_pb2.JOB_STATUS_FAILED, common_pb2.JOB_STATUS_CANCELLED)


@pytest.fixture(scope="module")
def prefix():
    with redis_prefix("fstest") as name:
        yield name


@pytest.fixture(scope="module")
async def production(tmp_path_factory, module_postgres_url, prefix):
    """On a database of its own: in the shared one, the recovery sweep would queue other
    modules' leftover jobs for this module's workers."""
    var = tmp_path_factory.mktemp("var")
    async with production_studio(var, module_postgres_url, prefix) as studio:
        yield studio


@pytest.fixture
def workers(production, prefix):
    pool = Workers(production, prefix)
    yield pool
    pool.stop_all()


@pytest.fixture
async def studio(production):
    return await funded_studio(production[0], production[1], credits=2000)


async def test_a_single_worker_drains_high_then_normal_then_low(studio, workers) -> None:
    low = await studio.create(priority=3, diagnostic={"sleep_seconds": 0})
    normal = await studio.create(
        priority=2, project=await studio.new_project(), diagnostic={"sleep_seconds": 0}
    )
    high = await studio.create(
        priority=1, project=await studio.new_project(), diagnostic={"sleep_seconds": 0}
    )
    workers.start("--burst")
    done = [await studio.wait_for(job.name, *ENDED) for job in (low, normal, high)]
    assert all(job.status == SUCCEEDED for job in done), [j.error for j in done]
    order = sorted(done, key=lambda job: job.start_time.ToDatetime())
    assert [job.name for job in order] == [high.name, normal.name, low.name]


async def test_cancelling_a_queued_job_removes_it_from_the_queue(studio, production) -> None:
    before = await studio.balance()
    job = await studio.create(diagnostic={"sleep_seconds": 0})
    queue = production[0].app.get(AIJobService).queue
    job_id = int(job.name.split("/")[1])
    assert await queue.contains(job_id, 1)
    await studio.jobs.CancelJob(ai_job_pb2.CancelJobRequest(name=job.name), metadata=studio.auth)
    cancelled = await studio.get(job.name)
    assert cancelled.status == common_pb2.JOB_STATUS_CANCELLED
    assert not await queue.contains(job_id, 1)
    assert await studio.balance_becomes(before) == before


async def test_a_killed_worker_loses_no_job_and_the_hold_resolves_once(
    studio, workers, production
) -> None:
    server = production[0]
    before = await studio.balance()
    job = await studio.create(diagnostic={"sleep_seconds": 3})
    doomed = workers.start()
    running = await studio.wait_for(job.name, RUNNING, within=30)
    assert running.attempt == 1
    await asyncio.sleep(0.5)
    workers.kill(doomed)
    workers.start()
    done = await studio.wait_for(job.name, *ENDED, within=60)
    assert done.status == SUCCEEDED, done.error
    assert done.attempt == 2, "the lost attempt was detected and run again"
    assert await studio.balance_becomes(before - job.cost_credits) == before - job.cost_credits
    for _ in range(100):  # the hold is settled just after the job ends
        async with server.app.database.session() as db:
            row = await db.get(JobRow, int(job.name.split("/")[1]))
        if row.settled_at is not None:
            break
        await asyncio.sleep(0.05)
    assert row.settled_at is not None
    assert row.settlement == "capture"
    assert (await server.app.get(CreditsService).verify_ledger()).clean


@pytest.fixture
async def lone_production(tmp_path, private_postgres):
    """A studio with a queue and a database of its own: its worker runs this test's job alone
    (the module's studio would sweep the others' jobs into its queue otherwise)."""
    with redis_prefix("fslone") as name:
        async with production_studio(tmp_path, private_postgres(), name) as studio:
            yield studio, name


async def test_an_attempt_cut_off_from_its_job_is_never_measured_as_a_success(
    lone_production,
) -> None:
    """A work horse frozen past the heartbeat timeout finishes an attempt that no longer counts."""
    production, prefix = lone_production
    studio = await funded_studio(production[0], production[1], credits=300)
    port = free_port()
    pool = Workers(production, prefix, METRICS_PORT=str(port))
    # Its last stage cannot stop part-way: it ends its sleep after the attempt was superseded.
    last = {"sleep_seconds": 3, "uninterruptible": True, "after_stages": True}
    job = await studio.create(diagnostic=last)
    worker = pool.start()
    try:
        deadline = time.monotonic() + 30
        while (await studio.get(job.name)).stage != "diagnostic":
            assert time.monotonic() < deadline, "the last stage never started"
            await asyncio.sleep(0.05)
        horses = descendants(worker.pid)
        for pid in horses:
            os.kill(pid, signal.SIGSTOP)
        requeued = await studio.wait_for(job.name, common_pb2.JOB_STATUS_QUEUED, within=10)
        assert requeued.attempt == 2
        for pid in horses:
            os.kill(pid, signal.SIGCONT)
        done = await studio.wait_for(job.name, *ENDED, within=30)
        assert done.status == SUCCEEDED, done.error
        assert done.attempt == 2
        series = "filmstudio_job_duration_seconds_count"
        outcomes = {"succeeded", "abandoned", "cancelled", "failed"}

        def counted(samples: Samples) -> dict[str, float]:
            kind = {"job_type": "script_analysis"}
            return {name: value(samples, series, **kind, outcome=name) for name in outcomes}

        # The worker records an attempt when its horse has gone: wait for both of them.
        url = f"http://127.0.0.1:{port}/metrics"
        samples = await scrape_until(url, lambda now: sum(counted(now).values()) == 2)
    finally:
        pool.stop_all()
    assert counted(samples) == {"succeeded": 1, "abandoned": 1, "cancelled": 0, "failed": 0}


async def test_a_job_whose_workers_keep_dying_fails_and_releases_its_hold(studio, workers) -> None:
    before = await studio.balance()
    job = await studio.create(diagnostic={"sleep_seconds": 30})
    for attempt in (1, 2, 3):
        process = workers.start()
        running = await studio.wait_for(job.name, RUNNING, within=30)
        assert running.attempt == attempt
        workers.kill(process)
        if attempt < 3:
            queued = await studio.wait_for(job.name, common_pb2.JOB_STATUS_QUEUED, within=10)
            assert queued.attempt == attempt + 1
    failed = await studio.wait_for(job.name, *ENDED, within=10)
    assert failed.status == common_pb2.JOB_STATUS_FAILED
    assert await studio.balance_becomes(before) == before
    assert (await studio.server.app.get(CreditsService).verify_ledger()).clean


async def test_queue_stats_count_jobs_per_priority(studio, production) -> None:
    server = production[0]
    admin = bearer(await signed_in(server, f"ops-{uuid.uuid4().hex[:6]}@example.com", "admin"))
    response = await studio.jobs.GetQueueStats(ai_job_pb2.GetQueueStatsRequest(), metadata=admin)
    names = [q.queue for q in response.queues]
    assert names == ["high", "normal", "low"]
    assert sum(q.succeeded for q in response.queues) >= 1


async def test_three_watchers_and_a_reconnect_see_every_event_through_redis(
    studio, workers
) -> None:
    job = await studio.create(diagnostic={"sleep_seconds": 1.5})
    workers.start()
    await check_watchers_agree(studio, job.name)


async def test_cancelling_a_job_running_on_a_worker_process(studio, workers) -> None:
    before = await studio.balance()
    job = await studio.create(diagnostic={"sleep_seconds": 30})
    workers.start()
    await studio.wait_for(job.name, RUNNING, within=30)
    await asyncio.sleep(0.5)
    started = asyncio.get_running_loop().time()
    await studio.jobs.CancelJob(ai_job_pb2.CancelJobRequest(name=job.name), metadata=studio.auth)
    done = await studio.wait_for(job.name, *ENDED, within=5)
    assert done.status == common_pb2.JOB_STATUS_CANCELLED
    assert asyncio.get_running_loop().time() - started < 2.0
    assert await studio.balance_becomes(before) == before


async def test_a_failed_job_is_retried_on_a_worker_process(studio, workers) -> None:
    before = await studio.balance()
    job = await studio.create(diagnostic={"fail_once_per_chain": True, "after_stages": True})
    workers.start()
    failed = await studio.wait_for(job.name, *ENDED, within=30)
    assert failed.status == common_pb2.JOB_STATUS_FAILED
    retry = ai_job_pb2.RetryJobRequest(name=job.name)
    retried = (await studio.jobs.RetryJob(retry, metadata=studio.auth)).job
    done = await studio.wait_for(retried.name, *ENDED, within=30)
    assert done.status == SUCCEEDED, done.error
    assert (
        await studio.balance_becomes(before - retried.cost_credits) == before - retried.cost_credits
    )
    assert (await studio.server.app.get(CreditsService).verify_ledger()).clean


async def _running_as_a_worker(studio, server) -> tuple[ai_job_pb2.Job, tuple[tuple[str, str]]]:
    """Create a job and claim its first attempt as a worker would; return it and that auth."""
    job = await studio.create(diagnostic={"sleep_seconds": 0})
    worker = server.app.tokens.issue_service_token("test-worker")
    auth = (("authorization", f"Bearer {worker}"),)
    claim = ai_job_pb2.UpdateJobStatusRequest(
        name=job.name, status=RUNNING, attempt=1, worker="test-worker"
    )
    await studio.jobs.UpdateJobStatus(claim, metadata=auth)
    return job, auth


@pytest.mark.parametrize("change", ["another attempt", "a cancel"])
async def test_a_report_between_database_writes_still_stops_a_worker_that_must_stop(
    studio, production, change
) -> None:
    """Reports between the half-second writes skip the transaction, never the job's state."""
    server = production[0]
    job, auth = await _running_as_a_worker(studio, server)
    job_id = int(job.name.split("/")[1])

    async def change_the_job() -> None:
        # Straight in the database, announced to nobody: only the report's own read can see it
        # (another attempt is what the reaper and a new claim leave behind).
        async with server.app.database.session() as db, db.begin():
            row = await db.get(JobRow, job_id)
            if change == "a cancel":
                row.cancel_requested = True
            else:
                row.attempt = 2

    async def heard(progress: float) -> None:
        request = ai_job_pb2.WatchJobRequest(name=job.name)
        async for response in studio.jobs.WatchJob(request, metadata=studio.auth, timeout=10):
            if response.event.progress == progress:
                return

    async def reports():
        yield ai_job_pb2.ReportProgressRequest(name=job.name, attempt=1, heartbeat=True)
        yield ai_job_pb2.ReportProgressRequest(stage="bench", progress=10)
        # The client sends ahead of the server: change the job once the server took report 2.
        await heard(10)
        await change_the_job()
        yield ai_job_pb2.ReportProgressRequest(stage="bench", progress=20)
        await asyncio.sleep(10)  # the answer comes first: this report must stop the worker

    started = asyncio.get_running_loop().time()
    answer = await studio.jobs.ReportProgress(reports(), metadata=auth, timeout=20)
    assert answer.cancel_requested
    assert answer.accepted == 2
    # Well inside the half second between writes: the stop came from the fast path's read.
    assert asyncio.get_running_loop().time() - started < 5
    events = await studio.watch(job.name, limit=None) if change == "a cancel" else []
    assert all(event.progress != 20 for event in events)


async def _a_watcher_that_never_reads(address: str, job: str, token: str) -> asyncio.StreamWriter:
    """Open WatchJob on a raw HTTP/2 connection whose stream window is 0: no message fits."""
    host, port = address.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f.PREFACE + f.settings({f.INITIAL_WINDOW_SIZE: 0}))
    buffer = b""
    while True:  # acknowledge the server's settings (else it gives up on us), then stop reading
        while len(buffer) < 9 or len(buffer) < 9 + f.parse_head(buffer, 0)[0]:
            buffer += await asyncio.wait_for(reader.read(65536), 5)
        length, kind, flags, _ = f.parse_head(buffer, 0)
        if kind == f.SETTINGS and not flags & f.ACK:
            break
        buffer = buffer[9 + length :]
    request = ai_job_pb2.WatchJobRequest(name=job).SerializeToString()
    block = hpack.Encoder().encode(
        [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", "/filmstudio.v1.AIJobService/WatchJob"),
            (":authority", address),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            ("authorization", f"Bearer {token}"),
        ]
    )
    message = b"\x00" + len(request).to_bytes(4, "big") + request
    writer.write(
        f.frame(f.SETTINGS, f.ACK, 0)
        + f.frame(f.HEADERS, f.END_HEADERS, 1, block)
        + f.frame(f.DATA, f.END_STREAM, 1, message)
    )
    await writer.drain()
    return writer


async def test_a_watcher_that_stops_reading_delays_no_other_watcher(studio, production) -> None:
    """Each watcher has its own queue and writer: one stuck on flow control holds up nobody."""
    server = production[0]
    job, auth = await _running_as_a_worker(studio, server)
    token = studio.auth[0][1].removeprefix("Bearer ")
    stuck = [
        await _a_watcher_that_never_reads(server.app.settings.grpc_address, job.name, token)
        for _ in range(3)
    ]
    arrivals: dict[float, float] = {}
    request = ai_job_pb2.WatchJobRequest(name=job.name)
    live = studio.jobs.WatchJob(request, metadata=studio.auth, timeout=30)
    await live.read()  # listening: the first event is the job's state

    async def listen() -> None:
        while (response := await live.read()) is not grpc.aio.EOF:
            if response.event.message.startswith("t="):
                arrivals[float(response.event.message[2:].split()[0])] = time.monotonic()

    listening = asyncio.ensure_future(listen())

    async def reports():
        yield ai_job_pb2.ReportProgressRequest(name=job.name, attempt=1, heartbeat=True)
        for step in range(40):
            await asyncio.sleep(0.02)
            padding = "x" * 400  # the stuck watchers' queues grow; ours must not wait on them
            message = f"t={time.monotonic()} {padding}"
            yield ai_job_pb2.ReportProgressRequest(stage="s", progress=step, message=message)

    await studio.jobs.ReportProgress(reports(), metadata=auth, timeout=30)
    # The premise: the stuck watchers' events wait in their own queues (none was written).
    fanout = server.app.get(AIJobService).lifecycle.events._fanout[int(job.name.split("/")[1])]
    backlogs = sorted(queue.qsize() for queue in fanout.queues)
    assert len(backlogs) >= 4, backlogs  # the three stuck, ours, and the worker's own follower
    assert backlogs[-3] >= 39, backlogs
    result = ai_job_pb2.UpdateJobResultRequest(name=job.name, attempt=1)
    await studio.jobs.UpdateJobResult(result, metadata=auth)
    await asyncio.wait_for(listening, 10)
    for writer in stuck:
        writer.close()
    assert len(arrivals) == 40
    delays = sorted(arrived - sent for sent, arrived in arrivals.items())
    assert delays[-1] < 2.0, delays[-5:]  # milliseconds here; generous for a loaded machine
