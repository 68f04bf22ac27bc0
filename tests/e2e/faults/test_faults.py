"""Faults in the production shape: a worker killed mid-render, PostgreSQL and Redis restarted
under load, a service process stopped while the gateway serves.

In each: clear errors during the outage (UNAVAILABLE / 503, no call hangs), recovery without
restarting anything else, no job lost or stuck, every hold resolved once, and the credits
ledger and the audit log verify clean.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import grpc
import httpx
import pytest
from filmstudio.v1 import ai_job_pb2, common_pb2, project_pb2, project_pb2_grpc

from tests.e2e.faults.conftest import (
    ENDED,
    Faulty,
    Load,
    assert_books_balance,
    assert_clear_errors,
)
from tests.support.studio import free_port
from tests.support.workers import FILMSTUDIO

pytestmark = pytest.mark.postgres

SUCCEEDED = common_pb2.JOB_STATUS_SUCCEEDED
# A film short enough to render in seconds: two shots, two lines.
SHORT_FILM = """Title: Fault Line

INT. GARAGE - NIGHT

Rain drums on the roof. BRICK (40s) leans over an engine.

BRICK
It holds. For now.

STEEL
Then we drive at dawn.
"""


async def _stage_running(faulty: Faulty, name: str, stage: str, within: float) -> None:
    """Follow a job's events until `stage` runs (or fail if the job ends first)."""
    request = ai_job_pb2.WatchJobRequest(name=name)
    async with asyncio.timeout(within):
        async for response in faulty.studio.jobs.WatchJob(request, metadata=faulty.studio.auth):
            if response.event.stage == stage:
                return
            assert not response.event.terminal, f"the job ended before {stage}"


async def test_a_worker_killed_mid_render_loses_nothing(faulty: Faulty) -> None:
    studio, workers = faulty.studio, faulty.workers
    projects = project_pb2_grpc.ProjectServiceStub(studio.channel)
    project = await projects.CreateProject(
        project_pb2.CreateProjectRequest(
            project=project_pb2.Project(title="Fault Line", script=SHORT_FILM)
        ),
        metadata=studio.auth,
    )
    job = ai_job_pb2.Job(
        project=project.project.name,
        job_type=common_pb2.JOB_TYPE_FULL_GENERATION,
    )
    job.parameters.extra.update({"render_height": 144})
    created = await studio.jobs.CreateJob(
        ai_job_pb2.CreateJobRequest(job=job), metadata=studio.auth
    )
    name = created.job.name
    await _stage_running(faulty, name, "video_composition", within=120)
    running = await studio.get(name)
    # kill -9 every worker (and its work horse) now: the one rendering is among them.
    for process in list(workers.processes):
        workers.kill(process)
    workers.start()
    done = await studio.wait_for(name, *ENDED, within=180)
    assert done.status == SUCCEEDED, done.error
    assert done.attempt == running.attempt + 1, "the killed attempt was run again"
    assert "video" in {artifact.kind for artifact in done.artifacts}
    await assert_books_balance(faulty)


async def test_postgres_restarts_under_load(faulty: Faulty) -> None:
    async with Load(faulty.studio) as load:
        for _ in range(2):  # crash (clients get no goodbye), stay down a moment, come back
            await asyncio.to_thread(faulty.database.stop, "immediate")
            await asyncio.sleep(1.0)
            await asyncio.to_thread(faulty.database.start)
            await asyncio.sleep(1.5)
    assert load.failures(), "the outage was not seen"
    assert_clear_errors(load)
    assert load.last_round_succeeded(), "calls succeed again without restarting anything"
    jobs = await assert_books_balance(faulty)
    assert all(job.status == SUCCEEDED for job in jobs), [
        (job.name, job.status, job.message) for job in jobs if job.status != SUCCEEDED
    ]


async def _watch_to_the_end(faulty: Faulty, name: str) -> tuple[bool, grpc.StatusCode | None]:
    """Watch a job: (saw the terminal event, the error that ended the watch if any)."""
    request = ai_job_pb2.WatchJobRequest(name=name)
    try:
        async for response in faulty.studio.jobs.WatchJob(
            request, metadata=faulty.studio.auth, timeout=60
        ):
            if response.event.terminal:
                return True, None
    except grpc.aio.AioRpcError as error:
        return False, error.code()
    return False, None


async def test_redis_restarts_under_load_with_watchers(faulty: Faulty) -> None:
    studio = faulty.studio
    watched = [
        (await studio.create(project=project, diagnostic={"sleep_seconds": 2.5})).name
        for project in [await studio.new_project(f"Watched {n}") for n in range(3)]
    ]
    async with Load(studio) as load:
        watchers = [
            asyncio.ensure_future(_watch_to_the_end(faulty, name))
            for name in watched
            for _ in range(3)
        ]
        await asyncio.sleep(0.5)
        faulty.redis.stop()  # a crash: no persistence, so the queue's entries are gone too
        await asyncio.sleep(1.5)
        faulty.redis.start()
        await asyncio.sleep(2.0)
        ended = await asyncio.wait_for(asyncio.gather(*watchers), timeout=90)
    assert_clear_errors(load)
    assert load.last_round_succeeded(), "calls succeed again without restarting anything"
    # A watch either saw its job end or was told plainly that events were unavailable.
    assert all(seen or code == grpc.StatusCode.UNAVAILABLE for seen, code in ended), ended
    jobs = await assert_books_balance(faulty)
    assert all(job.status == SUCCEEDED for job in jobs), [
        (job.name, job.status, job.message) for job in jobs if job.status != SUCCEEDED
    ]
    for name in watched:  # a watch started after the outage sees each job to its end
        seen, code = await _watch_to_the_end(faulty, name)
        assert seen, code


def _serve(var: Path, port: int) -> subprocess.Popen[bytes]:
    """Start `filmstudio serve` (every service, SQLite under `var`) on `port`."""
    environment = {
        **os.environ,
        "FILMSTUDIO_VAR_DIR": str(var),
        "GRPC_PORT": str(port),
        "BCRYPT_ROUNDS": "4",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "S3_BUCKET_NAME", "S3_ENDPOINT_URL"):
        environment.pop(name, None)
    return subprocess.Popen(
        [FILMSTUDIO, "serve", "--migrate"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _until(check, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.2)


def test_a_stopped_service_process_is_503_at_the_gateway_until_it_is_back(tmp_path) -> None:
    backend_port, gateway_port = free_port(), free_port()
    var = tmp_path / "var"
    backend = _serve(var, backend_port)
    gateway = subprocess.Popen(
        [
            FILMSTUDIO,
            "gateway",
            "--backend",
            f"127.0.0.1:{backend_port}",
            "--port",
            str(gateway_port),
            "--timeout",
            "5",
        ],
        env={**os.environ, "FILMSTUDIO_VAR_DIR": str(tmp_path / "gateway")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{gateway_port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            _until(lambda: client.get("/readyz").status_code == 200, within=60)
            email = f"fault-{uuid.uuid4().hex[:8]}@example.com"
            password = "a long passphrase for faults"
            registered = client.post(
                "/v1/users:register", json={"email": email, "password": password}
            )
            assert registered.is_success, registered.text
            login = client.post("/v1/auth:login", json={"email": email, "password": password})
            token = login.json()["tokens"]["accessToken"]
            auth = {"Authorization": f"Bearer {token}"}
            assert client.get("/v1/users/me", headers=auth).status_code == 200

            os.killpg(backend.pid, signal.SIGKILL)
            backend.wait()
            for _ in range(3):
                started = time.monotonic()
                answer = client.get("/v1/users/me", headers=auth)
                assert time.monotonic() - started < 6, "the gateway hung on a dead backend"
                assert answer.status_code == 503, answer.text
                assert answer.json()["code"] == grpc.StatusCode.UNAVAILABLE.value[0]
                assert gateway.poll() is None

            backend = _serve(var, backend_port)  # the same database: the account is there
            _until(lambda: client.get("/v1/users/me", headers=auth).status_code == 200, 60)
            assert client.get("/v1/users/me", headers=auth).json()["email"] == email
    finally:
        for process in (backend, gateway):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
