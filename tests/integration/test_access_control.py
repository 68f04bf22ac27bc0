"""Every RPC, called over real gRPC, enforces the policy its descriptor declares."""

from __future__ import annotations

import time
from dataclasses import dataclass

import grpc
import jwt
import pytest
from filmstudio.v1 import options_pb2, user_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.common.tokens import REFRESH, TokenCodec
from tests.support.descriptors import access_of, all_methods
from tests.support.studio import (
    TEST_JWT_SECRET,
    bearer,
    call_method,
    running_studio,
    signed_in,
    studio_settings,
)

PROTECTED = [m for m in all_methods() if access_of(m) != options_pb2.ACCESS_PUBLIC]
PUBLIC = [m for m in all_methods() if access_of(m) == options_pb2.ACCESS_PUBLIC]
ADMIN_ONLY = [m for m in all_methods() if access_of(m) == options_pb2.ACCESS_ADMIN]
INTERNAL_ONLY = [m for m in all_methods() if access_of(m) == options_pb2.ACCESS_INTERNAL]
POLICY_REASONS = {"CREDENTIALS_MISSING", "ACCESS_DENIED", "NO_POLICY"}


@dataclass
class Studio:
    channel: grpc.aio.Channel
    codec: TokenCodec
    user: str
    admin: str


@pytest.fixture(scope="module")
async def studio(tmp_path_factory, postgres_url):
    settings = studio_settings(tmp_path_factory.mktemp("var"), postgres_url)
    async with running_studio(settings) as (server, channel):
        yield Studio(
            channel,
            TokenCodec.from_settings(settings),
            user=await signed_in(server, "access-user@example.com"),
            admin=await signed_in(server, "access-admin@example.com", role="admin"),
        )


def _resigned(token: str, **overrides) -> str:
    """Return a token with changed claims, re-signed with the real key."""
    claims = jwt.decode(token, options={"verify_signature": False}) | overrides
    return jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")


async def _code(channel, method, metadata=()) -> grpc.StatusCode:
    try:
        await call_method(channel, method, metadata=metadata)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def _policy_denied(channel, method, metadata=()) -> bool:
    """Tell whether the auth interceptor (not the domain) refused the call."""
    try:
        await call_method(channel, method, metadata=metadata)
    except grpc.aio.AioRpcError as error:
        status = rpc_status.from_call(error)
        for detail in status.details if status else ():
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info):
                return info.reason in POLICY_REASONS
    return False


def test_the_descriptors_hold_protected_public_admin_and_internal_rpcs() -> None:
    assert PROTECTED
    assert PUBLIC
    assert ADMIN_ONLY
    assert INTERNAL_ONLY


@pytest.mark.parametrize("method", PROTECTED, ids=lambda m: m.full_name)
async def test_protected_rpc_without_credentials_is_unauthenticated(studio, method) -> None:
    assert await _code(studio.channel, method) == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("method", PUBLIC, ids=lambda m: m.full_name)
async def test_public_rpc_needs_no_credentials(studio, method) -> None:
    assert not await _policy_denied(studio.channel, method)


@pytest.mark.parametrize("method", ADMIN_ONLY, ids=lambda m: m.full_name)
async def test_admin_rpc_refuses_users_and_services_but_admits_admins(studio, method) -> None:
    user, admin = bearer(studio.user), bearer(studio.admin)
    service = bearer(studio.codec.issue_service_token("worker"))
    assert await _code(studio.channel, method, user) == grpc.StatusCode.PERMISSION_DENIED
    assert await _code(studio.channel, method, service) == grpc.StatusCode.PERMISSION_DENIED
    assert not await _policy_denied(studio.channel, method, admin)


@pytest.mark.parametrize("method", INTERNAL_ONLY, ids=lambda m: m.full_name)
async def test_internal_rpc_refuses_users_and_admins_but_admits_services(studio, method) -> None:
    user, admin = bearer(studio.user), bearer(studio.admin)
    service = bearer(studio.codec.issue_service_token("worker"))
    assert await _code(studio.channel, method, user) == grpc.StatusCode.PERMISSION_DENIED
    assert await _code(studio.channel, method, admin) == grpc.StatusCode.PERMISSION_DENIED
    assert not await _policy_denied(studio.channel, method, service)


def _get_me():
    return user_pb2.DESCRIPTOR.services_by_name["UserService"].methods_by_name["GetMe"]


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda t: _resigned(t, exp=int(time.time()) - 120), id="expired"),
        pytest.param(lambda t: _resigned(t, aud="someone-else"), id="wrong-audience"),
        pytest.param(lambda t: _resigned(t, iss="evil"), id="wrong-issuer"),
        pytest.param(lambda t: _resigned(t, typ=REFRESH), id="refresh-token-as-access"),
        pytest.param(lambda t: _resigned(t, sid="no-such-session"), id="unknown-session"),
        pytest.param(
            lambda t: jwt.encode(
                jwt.decode(t, options={"verify_signature": False}),
                "another-secret-of-sufficient-length-0123456789",
                algorithm="HS256",
            ),
            id="forged-signature",
        ),
        pytest.param(
            lambda t: jwt.encode(
                jwt.decode(t, options={"verify_signature": False}), None, algorithm="none"
            ),
            id="alg-none",
        ),
        pytest.param(lambda t: "not-a-jwt", id="garbage"),
    ],
)
async def test_bad_tokens_are_unauthenticated(studio, make_token) -> None:
    code = await _code(studio.channel, _get_me(), bearer(make_token(studio.user)))
    assert code == grpc.StatusCode.UNAUTHENTICATED


async def test_a_malformed_authorization_header_is_unauthenticated(studio) -> None:
    metadata = (("authorization", "Basic dXNlcjpwYXNz"),)
    assert await _code(studio.channel, _get_me(), metadata) == grpc.StatusCode.UNAUTHENTICATED


async def test_a_valid_user_token_passes_authentication(studio) -> None:
    assert await _code(studio.channel, _get_me(), bearer(studio.user)) == grpc.StatusCode.OK
