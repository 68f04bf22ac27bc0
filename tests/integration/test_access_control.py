"""Every RPC, called over real gRPC, enforces the policy its descriptor declares."""

from __future__ import annotations

import time

import grpc
import jwt
import pytest
from filmstudio.v1 import options_pb2, user_pb2

from services.common.tokens import ACCESS, REFRESH, TokenCodec
from tests.support.descriptors import access_of, all_methods
from tests.support.studio import (
    TEST_JWT_SECRET,
    bearer,
    call_method,
    running_studio,
    studio_settings,
)

PROTECTED = [m for m in all_methods() if access_of(m) != options_pb2.ACCESS_PUBLIC]
PUBLIC = [m for m in all_methods() if access_of(m) == options_pb2.ACCESS_PUBLIC]
ADMIN_ONLY = [m for m in all_methods() if access_of(m) == options_pb2.ACCESS_ADMIN]
INTERNAL_ONLY = [m for m in all_methods() if access_of(m) == options_pb2.ACCESS_INTERNAL]
DENIED = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}


@pytest.fixture(scope="module")
async def studio(tmp_path_factory, postgres_url):
    settings = studio_settings(tmp_path_factory.mktemp("var"), postgres_url)
    async with running_studio(settings) as (server, channel):
        yield server, channel, TokenCodec.from_settings(settings)


def _user_token(codec: TokenCodec, role: str = "user", **overrides) -> str:
    token, _ = codec.encode(
        subject="42", token_type=ACCESS, ttl_seconds=300, claims={"role": role, "sid": "s1"}
    )
    if overrides:
        claims = jwt.decode(token, options={"verify_signature": False}) | overrides
        token = jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")
    return token


async def _code(channel, method, metadata=()) -> grpc.StatusCode:
    try:
        await call_method(channel, method, metadata=metadata)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def test_the_descriptors_hold_protected_public_admin_and_internal_rpcs() -> None:
    assert PROTECTED
    assert PUBLIC
    assert ADMIN_ONLY
    assert INTERNAL_ONLY


@pytest.mark.parametrize("method", PROTECTED, ids=lambda m: m.full_name)
async def test_protected_rpc_without_credentials_is_unauthenticated(studio, method) -> None:
    _, channel, _ = studio
    assert await _code(channel, method) == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("method", PUBLIC, ids=lambda m: m.full_name)
async def test_public_rpc_needs_no_credentials(studio, method) -> None:
    _, channel, _ = studio
    assert await _code(channel, method) not in DENIED


@pytest.mark.parametrize("method", ADMIN_ONLY, ids=lambda m: m.full_name)
async def test_admin_rpc_refuses_users_and_services_but_admits_admins(studio, method) -> None:
    _, channel, codec = studio
    user = bearer(_user_token(codec))
    service = bearer(codec.issue_service_token("worker"))
    admin = bearer(_user_token(codec, role="admin"))
    assert await _code(channel, method, user) == grpc.StatusCode.PERMISSION_DENIED
    assert await _code(channel, method, service) == grpc.StatusCode.PERMISSION_DENIED
    assert await _code(channel, method, admin) not in DENIED


@pytest.mark.parametrize("method", INTERNAL_ONLY, ids=lambda m: m.full_name)
async def test_internal_rpc_refuses_users_and_admins_but_admits_services(studio, method) -> None:
    _, channel, codec = studio
    user = bearer(_user_token(codec))
    admin = bearer(_user_token(codec, role="admin"))
    service = bearer(codec.issue_service_token("worker"))
    assert await _code(channel, method, user) == grpc.StatusCode.PERMISSION_DENIED
    assert await _code(channel, method, admin) == grpc.StatusCode.PERMISSION_DENIED
    assert await _code(channel, method, service) not in DENIED


def _get_me():
    return user_pb2.DESCRIPTOR.services_by_name["UserService"].methods_by_name["GetMe"]


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda c: _user_token(c, exp=int(time.time()) - 120), id="expired"),
        pytest.param(lambda c: _user_token(c, aud="someone-else"), id="wrong-audience"),
        pytest.param(lambda c: _user_token(c, iss="evil"), id="wrong-issuer"),
        pytest.param(lambda c: _user_token(c, typ=REFRESH), id="refresh-token-as-access"),
        pytest.param(
            lambda c: jwt.encode(
                jwt.decode(_user_token(c), options={"verify_signature": False}),
                "another-secret-of-sufficient-length-0123456789",
                algorithm="HS256",
            ),
            id="forged-signature",
        ),
        pytest.param(
            lambda c: jwt.encode(
                jwt.decode(_user_token(c), options={"verify_signature": False}),
                None,
                algorithm="none",
            ),
            id="alg-none",
        ),
        pytest.param(lambda c: "not-a-jwt", id="garbage"),
    ],
)
async def test_bad_tokens_are_unauthenticated(studio, make_token) -> None:
    _, channel, codec = studio
    code = await _code(channel, _get_me(), bearer(make_token(codec)))
    assert code == grpc.StatusCode.UNAUTHENTICATED


async def test_a_malformed_authorization_header_is_unauthenticated(studio) -> None:
    _, channel, _ = studio
    metadata = (("authorization", "Basic dXNlcjpwYXNz"),)
    assert await _code(channel, _get_me(), metadata) == grpc.StatusCode.UNAUTHENTICATED


async def test_a_valid_user_token_passes_authentication(studio) -> None:
    _, channel, codec = studio
    assert await _code(channel, _get_me(), bearer(_user_token(codec))) not in DENIED
