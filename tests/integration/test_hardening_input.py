"""Malformed and oversized input is answered INVALID_ARGUMENT / 400 or 413 with details, never 500.

Over gRPC against the real server (PostgreSQL) and over REST through the real gateway in front
of it: deep JSON, deep Structs, Timestamps past year 9999, per-method size limits, long
passwords; and the gateway's 500 is logged with the request id its answer asks users to quote.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
from filmstudio.v1 import ai_job_pb2, common_pb2, credits_pb2, project_pb2, user_pb2
from google.protobuf import struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from gateway import core
from gateway.filmstudio import filmstudio_config
from gateway.server import GatewayServer
from services.common import errors
from services.common.limits import MAX_STRUCT_DEPTH
from services.user.passwords import PasswordHasher, hash_password
from tests.support.studio import bearer, signed_in


@pytest.fixture(scope="module")
async def rest(live) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The FilmStudio gateway in front of the module's server, and a signed-in user's token."""
    server, _ = live
    token = await signed_in(server, "hardening-input@example.com")
    config = filmstudio_config(server.app.settings, f"127.0.0.1:{server.port}")
    gateway = GatewayServer(config, port=0, grace_seconds=1)
    port = await gateway.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
            yield client, token
    finally:
        await gateway.stop()


def _field(number: int, payload: bytes) -> bytes:
    """Encode a length-delimited protobuf field (enough to build messages protobuf refuses to)."""

    def varint(value: int) -> bytes:
        out = bytearray()
        while True:
            byte, value = value & 0x7F, value >> 7
            out.append(byte | (0x80 if value else 0))
            if not value:
                return bytes(out)

    return varint(number << 3 | 2) + varint(len(payload)) + payload


def _deep_struct_bytes(depth: int) -> bytes:
    """Return a Struct nested `depth` levels: {"a": {"a": ... {}}}."""
    struct = b""
    for _ in range(depth - 1):
        entry = _field(1, b"a") + _field(2, _field(5, struct))  # key, Value.struct_value
        struct = _field(1, entry)  # Struct.fields
    return struct


def _deep_document(depth: int) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for _ in range(depth - 1):
        document = {"a": document}
    return document


def _violations(error: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    found = []
    for detail in status.details if status is not None else ():
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            found.extend((v.field, v.reason) for v in bad.field_violations)
    return found


async def _fails(call: Any) -> grpc.aio.AioRpcError:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error
    raise AssertionError("the call succeeded")


def _raw_call(channel: grpc.aio.Channel, path: str, response: Any) -> Any:
    return channel.unary_unary(
        path, request_serializer=lambda raw: raw, response_deserializer=response.FromString
    )


def _create_job_bytes(struct: bytes) -> bytes:
    job = ai_job_pb2.Job(project="projects/1", job_type=common_pb2.JOB_TYPE_SCRIPT_ANALYSIS)
    parameters = _field(6, struct)  # JobParameters.extra
    return _field(1, job.SerializeToString() + _field(7, parameters))  # CreateJobRequest.job


# --- gRPC ------------------------------------------------------------------------------------


async def test_a_struct_past_the_depth_cap_is_a_field_violation(live, rest) -> None:
    _, channel = live
    _, token = rest
    create = _raw_call(channel, "/filmstudio.v1.AIJobService/CreateJob", ai_job_pb2.Job)
    raw = _create_job_bytes(_deep_struct_bytes(MAX_STRUCT_DEPTH + 5))
    error = await _fails(create(raw, metadata=bearer(token), timeout=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(error) == [("job.parameters.extra", "TOO_DEEP")]


async def test_a_struct_too_deep_to_parse_is_invalid_argument(live, rest) -> None:
    _, channel = live
    _, token = rest
    create = _raw_call(channel, "/filmstudio.v1.AIJobService/CreateJob", ai_job_pb2.Job)
    error = await _fails(create(_create_job_bytes(_deep_struct_bytes(50)), metadata=bearer(token)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(error) == [("request", "MALFORMED")]


async def test_a_struct_within_the_cap_passes_the_guard(live, rest) -> None:
    _, channel = live
    _, token = rest
    extra = struct_pb2.Struct()
    extra.update({"nested": _deep_document(MAX_STRUCT_DEPTH - 1)})
    request = ai_job_pb2.CreateJobRequest(
        job=ai_job_pb2.Job(
            project="projects/999999",
            job_type=common_pb2.JOB_TYPE_SCRIPT_ANALYSIS,
            parameters=ai_job_pb2.JobParameters(extra=extra),
        )
    )
    create = _raw_call(channel, "/filmstudio.v1.AIJobService/CreateJob", ai_job_pb2.Job)
    error = await _fails(create(request.SerializeToString(), metadata=bearer(token)))
    assert error.code() == grpc.StatusCode.NOT_FOUND  # the domain saw it


async def test_a_timestamp_past_9999_is_a_field_violation(live, rest) -> None:
    _, channel = live
    _, token = rest
    request = credits_pb2.ListTransactionsRequest(parent="users/me")
    request.start_time.seconds = 253_402_300_800  # 10000-01-01T00:00:00Z
    request.end_time.seconds = -62_135_596_801  # just before 0001-01-01
    list_transactions = _raw_call(
        channel,
        "/filmstudio.v1.CreditsService/ListTransactions",
        credits_pb2.ListTransactionsResponse,
    )
    error = await _fails(list_transactions(request.SerializeToString(), metadata=bearer(token)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(error) == [("start_time", "RANGE"), ("end_time", "RANGE")]


async def test_a_login_over_its_method_limit_is_refused_before_parsing(live) -> None:
    _, channel = live
    login = _raw_call(channel, "/filmstudio.v1.UserService/Login", user_pb2.LoginResponse)
    request = user_pb2.LoginRequest(email="a@example.com", password="x" * 200_000)
    error = await _fails(login(request.SerializeToString(), timeout=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(error) == [("request", "TOO_LARGE")]
    assert "accepts at most 65536" in (error.details() or "")


async def test_a_password_past_1024_characters_is_refused_before_hashing(live) -> None:
    _, channel = live
    login = _raw_call(channel, "/filmstudio.v1.UserService/Login", user_pb2.LoginResponse)
    request = user_pb2.LoginRequest(email="a@example.com", password="x" * 1025)
    error = await _fails(login(request.SerializeToString(), timeout=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(error) == [("password", "TOO_LONG")]


async def test_a_project_may_carry_a_script_of_1_mib(live, rest) -> None:
    _, channel = live
    _, token = rest
    script = ("INT. HOUSE - DAY\n\nA long day.\n\n" * 40_000)[: 1024 * 1024]
    request = project_pb2.CreateProjectRequest(
        project=project_pb2.Project(title="Big", script=script)
    )
    create = _raw_call(
        channel, "/filmstudio.v1.ProjectService/CreateProject", project_pb2.CreateProjectResponse
    )
    created = await create(request.SerializeToString(), metadata=bearer(token), timeout=20)
    assert len(created.project.script) == len(script)


async def test_a_burst_of_password_checks_is_bounded() -> None:
    hasher = PasswordHasher(rounds=4, concurrency=1)
    stored = await hash_password("correct horse battery staple", 4)
    outcomes = await asyncio.gather(
        *(hasher.check("wrong password", stored) for _ in range(30)), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, errors.Unavailable)]
    assert len(refused) == 30 - 9  # one running, eight queued, the rest refused at once
    assert all(o.reason == "PASSWORD_HASHING_BUSY" for o in refused)
    assert all(o is False for o in outcomes if not isinstance(o, BaseException))


# --- REST ------------------------------------------------------------------------------------


async def test_json_nested_1000_deep_is_400(rest) -> None:
    client, _ = rest
    body = '{"email": ' * 1000 + '"x"' + "}" * 1000
    answer = await client.post("/v1/auth:login", content=body)
    assert answer.status_code == 400
    error = answer.json()
    assert error["code"] == 3
    assert error["details"][0]["fieldViolations"][0]["reason"] == "TOO_DEEP"


async def test_a_deep_struct_over_rest_is_400_naming_the_field(rest) -> None:
    client, token = rest
    job = {
        "project": "projects/1",
        "jobType": "JOB_TYPE_SCRIPT_ANALYSIS",
        "parameters": {"extra": _deep_document(MAX_STRUCT_DEPTH + 5)},
    }
    answer = await client.post("/v1/jobs", json=job, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 400, answer.text
    details = {d["@type"].rsplit(".", 1)[-1]: d for d in answer.json()["details"]}
    violation = details["BadRequest"]["fieldViolations"][0]
    assert (violation["field"], violation["reason"]) == ("job.parameters.extra", "TOO_DEEP")


async def test_a_timestamp_past_9999_over_rest_is_400(rest) -> None:
    client, token = rest
    answer = await client.get(
        "/v1/users/me/creditTransactions",
        params={"startTime": "10000-01-01T00:00:00Z"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == 3


async def test_an_auth_body_over_its_route_limit_is_413_before_reading(rest) -> None:
    client, _ = rest
    body = json.dumps({"email": "a@example.com", "password": "x" * 200_000})
    answer = await client.post("/v1/auth:login", content=body)
    assert answer.status_code == 413
    assert answer.json()["code"] == 8
    assert "131072 bytes" in answer.json()["message"]


async def test_a_project_body_of_a_1_mib_script_is_accepted(rest) -> None:
    client, token = rest
    script = ('INT. HOUSE - DAY\n\n"Hello," she said.\n\n' * 40_000)[: 1024 * 1024]
    answer = await client.post(
        "/v1/projects",
        json={"title": "Big over REST", "script": script},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text[:300]


async def test_the_gateways_500_is_logged_with_the_request_id_it_quotes(
    rest, monkeypatch, caplog
) -> None:
    client, _ = rest

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a gateway bug")

    # Core.build_request builds every transcoded request: a bug there is a gateway bug.
    monkeypatch.setattr(core, "build_request", broken)
    with caplog.at_level(logging.ERROR, logger="gateway.handlers"):
        answer = await client.post(
            "/v1/auth:login", json={"email": "a@example.com"}, headers={"X-Request-Id": "rid-500"}
        )
    assert answer.status_code == 500
    assert "request id" in answer.json()["message"]
    assert answer.headers["x-request-id"] == "rid-500"
    logged = [r for r in caplog.records if "gateway failure" in r.getMessage()]
    assert logged
    assert getattr(logged[0], "request_id", None) == "rid-500"
    assert "rid-500" in logged[0].getMessage()
