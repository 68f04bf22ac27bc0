"""SIGTERM drains a real `filmstudio serve`: every call in flight finishes OK before it exits."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
from filmstudio.v1 import project_pb2, project_pb2_grpc, user_pb2, user_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.studio import TEST_JWT_SECRET, TEST_PASSWORD, free_port

FILMSTUDIO = str(Path(sys.executable).parent / "filmstudio")
CALLS = 48
# Big enough that each GetProject takes a few milliseconds, so that many are in flight at once.
SCRIPT = "INT. GARAGE - DAY\n\n" + "BRICK\nThe engine is cold and so is the coffee.\n\n" * 15_000


async def _serving(channel: grpc.aio.Channel, process: asyncio.subprocess.Process) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for _ in range(150):
        if process.returncode is not None:
            raise AssertionError("the server exited before serving")
        try:
            answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
            if answer.status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.aio.AioRpcError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError("the server did not become SERVING")


async def _signed_in(channel: grpc.aio.Channel) -> tuple[tuple[str, str], ...]:
    users = user_pb2_grpc.UserServiceStub(channel)
    email = f"drain-{os.getpid()}@example.com"
    await users.RegisterUser(
        user_pb2.RegisterUserRequest(
            email=email, password=TEST_PASSWORD, first_name="Drain", last_name="Test"
        )
    )
    login = await users.Login(user_pb2.LoginRequest(email=email, password=TEST_PASSWORD))
    return (("authorization", f"Bearer {login.tokens.access_token}"),)


async def test_sigterm_lets_every_in_flight_read_finish(tmp_path, postgres_url) -> None:
    port = free_port()
    env = {
        **os.environ,
        "FILMSTUDIO_ENV": "test",
        "FILMSTUDIO_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": postgres_url,
        "JWT_SECRET": TEST_JWT_SECRET,
        "GRPC_PORT": str(port),
        "BCRYPT_ROUNDS": "4",
        "SHUTDOWN_GRACE_SECONDS": "20",
        "LOG_FORMAT": "json",
    }
    process = await asyncio.create_subprocess_exec(
        FILMSTUDIO,
        "serve",
        "--services",
        "user,project",
        "--migrate",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            await _serving(channel, process)
            auth = await _signed_in(channel)
            projects = project_pb2_grpc.ProjectServiceStub(channel)
            created = await projects.CreateProject(
                project_pb2.CreateProjectRequest(
                    project=project_pb2.Project(title="Drain", script=SCRIPT)
                ),
                metadata=auth,
            )
            request = project_pb2.GetProjectRequest(name=created.project.name)

            async def read() -> grpc.StatusCode:
                try:
                    await projects.GetProject(request, metadata=auth, timeout=30)
                except grpc.aio.AioRpcError as error:
                    return error.code()
                return grpc.StatusCode.OK

            calls = [asyncio.ensure_future(read()) for _ in range(CALLS)]
            # Signal once the first answer is back: the server holds the rest, in flight.
            await asyncio.wait(calls, return_when=asyncio.FIRST_COMPLETED)
            process.send_signal(signal.SIGTERM)
            codes = await asyncio.gather(*calls)
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert codes == [grpc.StatusCode.OK] * CALLS, {c: codes.count(c) for c in set(codes)}
    assert process.returncode == 0, output.decode()[-2000:]
