"""Rate limits against a real server: in memory and in Redis, over gRPC and through the gateway.

Small rates from the settings keep the tests short: a write bucket of 3 calls refilled one every
3 seconds (one test waits for it), and auth calls 2 per address, refilled one every 10 seconds.
The refills are slow enough that a busy machine never refills a bucket within a test's burst.
"""

from __future__ import annotations

import asyncio
import math
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
import redis
from filmstudio.v1 import project_pb2, project_pb2_grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from gateway.filmstudio import filmstudio_config
from gateway.server import GatewayServer
from services.bootstrap import resolve
from tests.support.outages import private_redis
from tests.support.studio import bearer, running_studio, signed_in, studio_settings
from tests.support.users import Client, error_of
from tests.support.workers import REDIS_URL

LIMITS = {
    "write": {"per_minute": 20, "burst": 3},
    "auth": {"per_minute": 6, "burst": 2},
}
SERVICES = "user,project"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings(tmp_path, postgres_url: str, store: str, prefix: str, **extra: Any) -> Any:
    redis_url = {
        "memory": None,
        "redis": REDIS_URL,
        "redis-down": f"redis://127.0.0.1:{_closed_port()}/0",
    }[store]
    values: dict[str, Any] = {"RATE_LIMITS": LIMITS, "QUEUE_PREFIX": prefix, **extra}
    if redis_url:
        values["REDIS_URL"] = redis_url
    return studio_settings(tmp_path, postgres_url, **values)


@pytest.fixture
def prefix() -> Any:
    name = f"rate-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)


@pytest.fixture(params=["memory", "redis"])
async def studio(request, tmp_path, postgres_url, prefix) -> AsyncIterator[Any]:
    settings = _settings(tmp_path, postgres_url, request.param, prefix)
    async with running_studio(settings, resolve(SERVICES)) as (server, channel):
        yield server, channel


def _create(channel: grpc.aio.Channel, token: str, title: str = "Film") -> Any:
    stub = project_pb2_grpc.ProjectServiceStub(channel)
    request = project_pb2.CreateProjectRequest(project=project_pb2.Project(title=title))
    return stub.CreateProject(request, metadata=bearer(token))


def _retry_seconds(error: grpc.aio.AioRpcError) -> float:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    info, retry = error_details_pb2.ErrorInfo(), error_details_pb2.RetryInfo()
    unpacked = {type(m).__name__ for d in status.details for m in (info, retry) if d.Unpack(m)}
    assert unpacked == {"ErrorInfo", "RetryInfo"}
    assert info.reason == "RATE_LIMITED"
    return retry.retry_delay.ToTimedelta().total_seconds()


async def test_a_burst_beyond_the_bucket_waits_its_retry_delay(studio) -> None:
    server, channel = studio
    token = await signed_in(server, f"burst-{uuid.uuid4().hex[:6]}@example.com")
    for number in range(3):
        await _create(channel, token, f"Film {number}")
    refused = await error_of(_create(channel, token))
    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    delay = _retry_seconds(refused)
    assert 0 < delay <= 3
    await asyncio.sleep(delay + 0.05)
    await _create(channel, token, "After the wait")
    assert (await error_of(_create(channel, token))).code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_another_user_and_another_class_are_unaffected(studio) -> None:
    server, channel = studio
    tired = await signed_in(server, f"tired-{uuid.uuid4().hex[:6]}@example.com")
    fresh = await signed_in(server, f"fresh-{uuid.uuid4().hex[:6]}@example.com")
    for number in range(3):
        await _create(channel, tired, f"Film {number}")
    assert (await error_of(_create(channel, tired))).code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    await _create(channel, fresh)
    projects = project_pb2_grpc.ProjectServiceStub(channel)
    listed = await projects.ListProjects(project_pb2.ListProjectsRequest(), metadata=bearer(tired))
    assert len(listed.projects) == 3


async def test_services_are_never_limited(studio) -> None:
    server, channel = studio
    token = server.app.tokens.issue_service_token("tests")
    # A service acting for nobody may not create a project, but it is refused for that alone.
    for _ in range(6):
        refused = await error_of(_create(channel, token))
        assert refused.code() != grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_logins_and_registrations_are_limited_per_address(studio) -> None:
    server, channel = studio
    email = f"by-address-{uuid.uuid4().hex[:6]}@example.com"
    await signed_in(server, email)
    here, there = Client(channel, ip="203.0.113.7"), Client(channel, ip="203.0.113.8")
    await here.login(email)
    await here.register(f"second-{uuid.uuid4().hex[:6]}@example.com")
    refused = await error_of(here.login(email))
    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert 0 < _retry_seconds(refused) <= 10
    registering = await error_of(here.register(f"third-{uuid.uuid4().hex[:6]}@example.com"))
    assert registering.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # The same account from another address, and a registration there, go through.
    await there.login(email)
    await there.register(f"fourth-{uuid.uuid4().hex[:6]}@example.com")


async def test_429_with_retry_after_through_the_gateway(studio) -> None:
    server, _ = studio
    token = await signed_in(server, f"rest-{uuid.uuid4().hex[:6]}@example.com")
    config = filmstudio_config(server.app.settings, f"127.0.0.1:{server.port}")
    gateway = GatewayServer(config, port=0, grace_seconds=1)
    port = await gateway.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
            headers = {"Authorization": f"Bearer {token}"}
            answers = [
                await client.post("/v1/projects", json={"title": f"Film {n}"}, headers=headers)
                for n in range(4)
            ]
            assert [a.status_code for a in answers] == [200, 200, 200, 429]
            limited = answers[-1]
            body = limited.json()
            assert body["code"] == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
            types = {detail["@type"].rsplit(".", 1)[-1]: detail for detail in body["details"]}
            assert types["ErrorInfo"]["reason"] == "RATE_LIMITED"
            assert types["QuotaFailure"]["violations"][0]["subject"].startswith("users/")
            delay = float(types["RetryInfo"]["retryDelay"].rstrip("s"))
            assert 0 < delay <= 3
            assert limited.headers["retry-after"] == str(math.ceil(delay))
            # A browser on another address signs in through the page's route, unaffected.
            email = f"nobody-{uuid.uuid4().hex[:6]}@example.com"
            login = {"email": email, "password": "wrong password here"}
            answer = await client.post(
                "/v1/auth:login", json=login, headers={"X-Forwarded-For": "198.18.0.9"}
            )
            assert answer.status_code == 401
    finally:
        await gateway.stop()


async def test_the_redis_bucket_is_shared_by_two_servers(tmp_path, postgres_url, prefix) -> None:
    first = _settings(tmp_path / "a", postgres_url, "redis", prefix)
    second = _settings(tmp_path / "b", postgres_url, "redis", prefix)
    async with (
        running_studio(first, resolve(SERVICES)) as (server, one),
        running_studio(second, resolve(SERVICES)) as (_, other),
    ):
        token = await signed_in(server, f"shared-{uuid.uuid4().hex[:6]}@example.com")
        await _create(one, token)
        await _create(other, token)
        await _create(one, token)
        refused = await error_of(_create(other, token))
        assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_calls_are_served_while_redis_is_down(tmp_path, postgres_url, prefix, caplog) -> None:
    settings = _settings(tmp_path, postgres_url, "redis-down", prefix)
    async with running_studio(settings, resolve(SERVICES)) as (server, channel):
        token = await signed_in(server, f"down-{uuid.uuid4().hex[:6]}@example.com")
        for number in range(3):
            await _create(channel, token, f"Film {number}")
        # Each process still counts on its own while Redis is away.
        refused = await error_of(_create(channel, token))
        assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1  # once a minute, not once a call


async def test_a_redis_that_stops_and_comes_back(tmp_path, postgres_url, prefix) -> None:
    (tmp_path / "redis").mkdir()
    with private_redis(tmp_path / "redis") as redis_server:
        settings = _settings(tmp_path, postgres_url, "memory", prefix, REDIS_URL=redis_server.url)
        async with running_studio(settings, resolve(SERVICES)) as (server, channel):
            token = await signed_in(server, f"gone-{uuid.uuid4().hex[:6]}@example.com")
            await _create(channel, token)
            redis_server.stop()
            for number in range(2):  # served, and counted in this process meanwhile
                await _create(channel, token, f"Redis away {number}")
            redis_server.start()
            await asyncio.sleep(1.1)  # the process asks Redis again a second after it failed
            await _create(channel, token)
            assert redis.Redis.from_url(redis_server.url).keys(f"{prefix}:ratelimit:write:*")


async def test_the_web_pages_sign_in_is_429_with_retry_after_too(studio) -> None:
    server, _ = studio
    config = filmstudio_config(server.app.settings, f"127.0.0.1:{server.port}")
    gateway = GatewayServer(config, port=0, grace_seconds=1)
    port = await gateway.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
            # A new account each run: failures per account have a lockout of their own.
            email = f"nobody-{uuid.uuid4().hex[:6]}@example.com"
            login = {"email": email, "password": "wrong password here"}
            answers = [await client.post("/app/session/login", json=login) for _ in range(3)]
            assert [a.status_code for a in answers] == [401, 401, 429]
            assert 1 <= int(answers[-1].headers["retry-after"]) <= 10
            assert answers[-1].json()["details"][0]["reason"] == "RATE_LIMITED"
    finally:
        await gateway.stop()
