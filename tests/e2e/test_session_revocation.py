"""A revocation made through one serving process holds on the very next call to another.

Two `filmstudio serve` processes share PostgreSQL and Redis, each with its own cache of
session answers; both have answered for the token (so both cached it) before it is revoked.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from filmstudio.v1 import admin_pb2, admin_pb2_grpc, user_pb2, user_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.studio import TEST_JWT_SECRET, TEST_PASSWORD, free_port
from tests.support.workers import REDIS_URL, redis_prefix

FILMSTUDIO = str(Path(sys.executable).parent / "filmstudio")
NEW_PASSWORD = "a different horse battery staple"


async def _serving(port: int, process: asyncio.subprocess.Process) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for _ in range(150):
            if process.returncode is not None:
                raise AssertionError("a server exited before serving")
            try:
                answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("a server did not become SERVING")


@pytest.fixture
async def two_servers(tmp_path, postgres_url) -> AsyncIterator[tuple[grpc.aio.Channel, ...]]:
    """Start two serve processes on one database and Redis; yield a channel to each."""
    with redis_prefix("revocation") as prefix:
        env = {
            **os.environ,
            "FILMSTUDIO_ENV": "test",
            "FILMSTUDIO_VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": postgres_url,
            "REDIS_URL": REDIS_URL,
            "QUEUE_PREFIX": prefix,
            "JWT_SECRET": TEST_JWT_SECRET,
            "BCRYPT_ROUNDS": "4",
            "LOG_FORMAT": "json",
        }
        processes: list[asyncio.subprocess.Process] = []
        ports = [free_port(), free_port()]
        try:
            for n, port in enumerate(ports):
                migrate = ["--migrate"] if n == 0 else []
                process = await asyncio.create_subprocess_exec(
                    *[FILMSTUDIO, "serve", "--services", "user,admin", *migrate],
                    env={**env, "GRPC_PORT": str(port)},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                processes.append(process)
                await _serving(port, process)
            channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for port in ports]
            yield tuple(channels)
            for channel in channels:
                await channel.close()
        finally:
            for process in processes:
                if process.returncode is None:
                    process.terminate()
                    await process.wait()


async def _signed_in(users: user_pb2_grpc.UserServiceStub, email: str) -> tuple[tuple[str, str]]:
    login = await users.Login(user_pb2.LoginRequest(email=email, password=TEST_PASSWORD))
    return (("authorization", f"Bearer {login.tokens.access_token}"),)


async def _registered(users: user_pb2_grpc.UserServiceStub, email: str) -> tuple[tuple[str, str]]:
    await users.RegisterUser(user_pb2.RegisterUserRequest(email=email, password=TEST_PASSWORD))
    return await _signed_in(users, email)


async def _me(users: user_pb2_grpc.UserServiceStub, auth: tuple[tuple[str, str]]) -> str:
    """Return GetMe's status code name."""
    try:
        await users.GetMe(user_pb2.GetMeRequest(), metadata=auth)
    except grpc.aio.AioRpcError as error:
        return error.code().name
    return "OK"


async def _cached_by_both(
    first: user_pb2_grpc.UserServiceStub,
    second: user_pb2_grpc.UserServiceStub,
    auth: tuple[tuple[str, str]],
) -> None:
    for users in (first, second, first, second):
        assert await _me(users, auth) == "OK"


async def test_logout_through_one_process_refuses_the_next_call_to_the_other(two_servers) -> None:
    first, second = (user_pb2_grpc.UserServiceStub(channel) for channel in two_servers)
    auth = await _registered(first, "leaving@example.com")
    kept = await _signed_in(first, "leaving@example.com")  # another device
    await _cached_by_both(first, second, auth)
    await _cached_by_both(first, second, kept)

    await first.Logout(user_pb2.LogoutRequest(), metadata=auth)

    assert await _me(second, auth) == "UNAUTHENTICATED"
    assert await _me(first, auth) == "UNAUTHENTICATED"
    assert await _me(second, kept) == "OK"  # only that session ended


async def test_password_change_through_one_process_ends_other_sessions_in_the_other(
    two_servers,
) -> None:
    first, second = (user_pb2_grpc.UserServiceStub(channel) for channel in two_servers)
    auth = await _registered(first, "changer@example.com")
    other_device = await _signed_in(first, "changer@example.com")
    await _cached_by_both(first, second, other_device)

    await first.ChangePassword(
        user_pb2.ChangePasswordRequest(current_password=TEST_PASSWORD, new_password=NEW_PASSWORD),
        metadata=auth,
    )

    assert await _me(second, other_device) == "UNAUTHENTICATED"


async def test_suspension_through_one_process_refuses_the_next_call_to_the_other(
    two_servers, postgres_url
) -> None:
    first, second = (user_pb2_grpc.UserServiceStub(channel) for channel in two_servers)
    admin_auth = await _registered(first, "boss@example.com")
    promote = await asyncio.create_subprocess_exec(
        *[FILMSTUDIO, "users", "promote", "boss@example.com", "--role", "admin"],
        env={**os.environ, "DATABASE_URL": postgres_url, "JWT_SECRET": TEST_JWT_SECRET},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(promote.communicate(), 60)
    assert promote.returncode == 0, output.decode()
    admin_auth = await _signed_in(first, "boss@example.com")  # a token with the new role
    auth = await _registered(first, "suspect@example.com")
    me = await first.GetMe(user_pb2.GetMeRequest(), metadata=auth)
    await _cached_by_both(first, second, auth)

    admin = admin_pb2_grpc.AdminServiceStub(two_servers[0])
    await admin.SuspendUser(
        admin_pb2.SuspendUserRequest(name=me.user.name, reason="e2e"), metadata=admin_auth
    )

    assert await _me(second, auth) == "UNAUTHENTICATED"
    assert await _me(first, auth) == "UNAUTHENTICATED"
