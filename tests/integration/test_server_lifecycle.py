"""Health per service, subsets of services, and a graceful shutdown that finishes in-flight RPCs."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from filmstudio.v1 import project_pb2, project_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.bootstrap import resolve
from tests.support.faulty import faulty_specs
from tests.support.studio import bearer, running_studio, signed_in, studio_settings

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
def settings(tmp_path):
    return studio_settings(tmp_path)


async def _check(channel: grpc.aio.Channel, service: str = "") -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    response = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    return response.status


async def test_health_reports_overall_and_each_hosted_service(settings) -> None:
    async with running_studio(settings, resolve("user,project")) as (_, channel):
        assert await _check(channel) == SERVING
        assert await _check(channel, "filmstudio.v1.UserService") == SERVING
        assert await _check(channel, "filmstudio.v1.ProjectService") == SERVING
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _check(channel, "filmstudio.v1.AdminService")
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_subset_server_does_not_host_other_services(settings) -> None:
    async with running_studio(settings, resolve("user")) as (_, channel):
        stub = project_pb2_grpc.ProjectServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetProject(project_pb2.GetProjectRequest(name="projects/1"))
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_shutdown_turns_health_not_serving_and_lets_in_flight_rpcs_finish(settings) -> None:
    async with running_studio(settings, faulty_specs()) as (server, channel):
        token = await signed_in(server, "lifecycle@example.com")
        health = health_pb2_grpc.HealthStub(channel)
        watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
        assert (await watch.read()).status == SERVING

        stub = project_pb2_grpc.ProjectServiceStub(channel)
        slow = asyncio.ensure_future(
            stub.UndeleteProject(
                project_pb2.UndeleteProjectRequest(name="projects/0.5"), metadata=bearer(token)
            )
        )
        await asyncio.sleep(0.1)  # the slow RPC is in flight
        stopping = asyncio.ensure_future(server.stop(grace=5))

        assert (await watch.read()).status == NOT_SERVING
        response = await slow
        assert response.project.name == "projects/0.5"
        await stopping
        with pytest.raises(grpc.aio.AioRpcError):
            await _check(channel)
