"""Domain errors become the right status with google.rpc details; the unexpected stays hidden."""

from __future__ import annotations

import grpc
import pytest
from filmstudio.v1 import ai_job_pb2, ai_job_pb2_grpc, project_pb2, project_pb2_grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.user.user_service import UserService
from tests.support.faulty import SECRET_DETAIL, faulty_specs
from tests.support.studio import bearer, running_studio, signed_in, studio_settings


@pytest.fixture(scope="module")
async def faulty(tmp_path_factory, postgres_url):
    settings = studio_settings(tmp_path_factory.mktemp("var"), postgres_url)
    async with running_studio(settings, faulty_specs()) as (server, channel):
        token = await signed_in(server, "faulty@example.com")
        yield server, channel, bearer(token)


async def _get_project_error(faulty, name: str) -> grpc.aio.AioRpcError:
    _, channel, auth = faulty
    stub = project_pb2_grpc.ProjectServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetProject(project_pb2.GetProjectRequest(name=name), metadata=auth)
    return caught.value


def _details(error: grpc.aio.AioRpcError) -> dict[str, object]:
    status = rpc_status.from_call(error)
    assert status is not None, "the error carries a google.rpc.Status"
    found: dict[str, object] = {}
    for kind in (
        error_details_pb2.ErrorInfo,
        error_details_pb2.BadRequest,
        error_details_pb2.PreconditionFailure,
        error_details_pb2.QuotaFailure,
        error_details_pb2.RetryInfo,
    ):
        for detail in status.details:
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                found[kind.__name__] = message
    return found


async def test_not_found_maps_to_not_found_with_error_info(faulty) -> None:
    error = await _get_project_error(faulty, "projects/not-found")
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == "project not found"
    info = _details(error)["ErrorInfo"]
    assert (info.reason, info.domain) == ("NOT_FOUND", "filmstudio.v1")


async def test_invalid_argument_carries_a_field_violation_per_field(faulty) -> None:
    error = await _get_project_error(faulty, "projects/invalid")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = _details(error)["BadRequest"].field_violations
    assert [(v.field, v.description) for v in violations] == [
        ("project.title", "must not be empty"),
        ("project.target_duration_seconds", "must be 10-600"),
    ]


async def test_insufficient_credits_is_failed_precondition_with_its_reason(faulty) -> None:
    error = await _get_project_error(faulty, "projects/broke")
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    details = _details(error)
    assert details["ErrorInfo"].reason == "INSUFFICIENT_CREDITS"
    assert dict(details["ErrorInfo"].metadata) == {
        "user": "users/7",
        "required": "5",
        "available": "2",
    }
    assert details["PreconditionFailure"].violations[0].type == "INSUFFICIENT_CREDITS"


async def test_aborted_and_resource_exhausted_map_with_retry_info(faulty) -> None:
    stale = await _get_project_error(faulty, "projects/stale")
    assert stale.code() == grpc.StatusCode.ABORTED
    assert _details(stale)["ErrorInfo"].reason == "ETAG_MISMATCH"
    busy = await _get_project_error(faulty, "projects/busy")
    assert busy.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    details = _details(busy)
    assert details["RetryInfo"].retry_delay.ToMilliseconds() == 1500
    assert "QuotaFailure" in details


async def test_errors_carry_the_request_id_in_their_trailers(faulty) -> None:
    error = await _get_project_error(faulty, "projects/not-found")
    assert len(dict(error.trailing_metadata())["x-request-id"]) == 32


async def test_unexpected_exception_is_internal_without_leaking_anything(faulty) -> None:
    error = await _get_project_error(faulty, "projects/crash")
    assert error.code() == grpc.StatusCode.INTERNAL
    everything = repr(error.details()) + repr(error.trailing_metadata())
    assert "hunter2" not in everything
    assert "Traceback" not in everything
    assert "RuntimeError" not in everything
    status = rpc_status.from_call(error)
    assert status is None or status == status_pb2.Status(code=13, message=error.details())


async def test_a_lost_database_is_unavailable_with_retry_info_and_no_leak(faulty) -> None:
    error = await _get_project_error(faulty, "projects/db-down")
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert _details(error)["RetryInfo"].retry_delay.seconds == 1
    assert "hunter2" not in repr(error.details()) + repr(error.trailing_metadata())


@pytest.mark.parametrize(
    ("name", "reason"),
    [("projects/db-busy", "DATABASE_BUSY"), ("projects/redis-down", "REDIS_UNAVAILABLE")],
)
async def test_an_exhausted_pool_or_a_lost_redis_is_unavailable_not_internal(
    faulty, name: str, reason: str
) -> None:
    error = await _get_project_error(faulty, name)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    details = _details(error)
    assert details["ErrorInfo"].reason == reason
    assert details["RetryInfo"].retry_delay.seconds == 1
    assert "hunter2" not in repr(error.details()) + repr(error.trailing_metadata())


async def test_unexpected_exception_is_logged_with_its_traceback(faulty, caplog) -> None:
    await _get_project_error(faulty, "projects/crash")
    logged = [r for r in caplog.records if r.exc_info and SECRET_DETAIL in str(r.exc_info[1])]
    assert logged, "the server log keeps the traceback the client never sees"


async def test_streaming_errors_map_after_the_messages_sent(faulty) -> None:
    _, channel, auth = faulty
    stub = ai_job_pb2_grpc.AIJobServiceStub(channel)
    received: list[str] = []

    async def watch(name: str) -> None:
        request = ai_job_pb2.WatchJobRequest(name=name)
        async for response in stub.WatchJob(request, metadata=auth):
            received.append(response.event.id)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await watch("jobs/gone")
    assert received == ["0", "1"]
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND

    with pytest.raises(grpc.aio.AioRpcError) as crashed:
        await watch("jobs/crash")
    assert crashed.value.code() == grpc.StatusCode.INTERNAL
    assert "hunter2" not in repr(crashed.value.details())


async def test_the_handler_sees_the_caller_and_the_request_id(faulty) -> None:
    _, channel, auth = faulty
    stub = project_pb2_grpc.ProjectServiceStub(channel)
    call = stub.GetProject(
        project_pb2.GetProjectRequest(name="projects/1"),
        metadata=(*auth, ("x-request-id", "req-123")),
    )
    response = await call
    user = await faulty[0].app.get(UserService).get_user_by_email("faulty@example.com")
    assert response.project.owner == f"users/{user.id}"
    assert response.project.title == "req-123"
    assert ("x-request-id", "req-123") in tuple(await call.trailing_metadata())


async def test_a_request_id_is_minted_when_the_client_sends_none(faulty) -> None:
    _, channel, auth = faulty
    stub = project_pb2_grpc.ProjectServiceStub(channel)
    call = stub.GetProject(project_pb2.GetProjectRequest(name="projects/1"), metadata=auth)
    response = await call
    minted = dict(await call.trailing_metadata())["x-request-id"]
    assert len(minted) == 32
    assert response.project.title == minted
