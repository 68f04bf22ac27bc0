"""Refresh rotation, reuse detection, logout, sessions and VerifyToken over real gRPC."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import grpc
import jwt
import pytest
from filmstudio.v1 import user_pb2
from sqlalchemy import update

from services.common.db import utcnow
from services.user.models import RefreshTokenRow
from tests.support.studio import TEST_JWT_SECRET
from tests.support.users import Client, error_of


def _email() -> str:
    return f"tokens-{uuid.uuid4().hex[:10]}@example.com"


async def _signed_in(channel) -> tuple[Client, user_pb2.LoginResponse]:
    client = Client(channel)
    address = _email()
    await client.register(address)
    return client, await client.login(address)


def _refresh(token: str) -> user_pb2.RefreshTokenRequest:
    return user_pb2.RefreshTokenRequest(refresh_token=token)


async def test_refresh_rotates_the_refresh_token(live) -> None:
    client, login = await _signed_in(live[1])
    first = await client.call("RefreshToken", _refresh(login.tokens.refresh_token))
    assert first.tokens.refresh_token != login.tokens.refresh_token
    second = await client.call("RefreshToken", _refresh(first.tokens.refresh_token))
    await client.call("GetMe", user_pb2.GetMeRequest(), token=second.tokens.access_token)


async def _spent_long_ago(server, refresh_token: str) -> None:
    """Move a spent refresh token's use back past the reuse grace, as a late replay finds it."""
    jti = jwt.decode(refresh_token, options={"verify_signature": False})["jti"]
    async with server.app.database.session() as db, db.begin():
        await db.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.jti == jti)
            .values(used_at=utcnow() - timedelta(minutes=5))
        )


async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(live) -> None:
    client, login = await _signed_in(live[1])
    rotated = await client.call("RefreshToken", _refresh(login.tokens.refresh_token))
    await _spent_long_ago(live[0], login.tokens.refresh_token)
    reuse = await error_of(client.call("RefreshToken", _refresh(login.tokens.refresh_token)))
    assert reuse.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "already used" in reuse.details()
    # The legitimate newest tokens of that session die with it.
    newest = await error_of(client.call("RefreshToken", _refresh(rotated.tokens.refresh_token)))
    assert newest.code() == grpc.StatusCode.UNAUTHENTICATED
    access = await error_of(
        client.call("GetMe", user_pb2.GetMeRequest(), token=rotated.tokens.access_token)
    )
    assert access.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_an_access_token_is_not_a_refresh_token(live) -> None:
    client, login = await _signed_in(live[1])
    error = await error_of(client.call("RefreshToken", _refresh(login.tokens.access_token)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda c: c | {"exp": int(time.time()) - 300}, id="expired"),
        pytest.param(lambda c: c | {"aud": "elsewhere"}, id="wrong-audience"),
        pytest.param(lambda c: c | {"sub": "999999"}, id="other-subject"),
    ],
)
async def test_tampered_refresh_tokens_are_refused(live, tamper) -> None:
    client, login = await _signed_in(live[1])
    claims = jwt.decode(login.tokens.refresh_token, options={"verify_signature": False})
    forged = jwt.encode(tamper(claims), TEST_JWT_SECRET, algorithm="HS256")
    error = await error_of(client.call("RefreshToken", _refresh(forged)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_logout_ends_the_session_at_once(live) -> None:
    client, login = await _signed_in(live[1])
    await client.call("GetMe", user_pb2.GetMeRequest())
    await client.call("Logout", user_pb2.LogoutRequest())
    error = await error_of(client.call("GetMe", user_pb2.GetMeRequest()))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    refresh = await error_of(client.call("RefreshToken", _refresh(login.tokens.refresh_token)))
    assert refresh.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_sessions_are_listed_a_page_at_a_time_and_revocable(live) -> None:
    client, first = await _signed_in(live[1])
    email = first.user.email
    other = Client(live[1])
    await other.login(email)
    await Client(live[1]).login(email)
    page = await client.call(
        "ListSessions", user_pb2.ListSessionsRequest(parent="users/me", page_size=2)
    )
    assert len(page.sessions) == 2
    assert page.next_page_token
    rest = await client.call(
        "ListSessions",
        user_pb2.ListSessionsRequest(
            parent="users/me", page_size=2, page_token=page.next_page_token
        ),
    )
    sessions = [*page.sessions, *rest.sessions]
    assert len(sessions) == 3
    assert not rest.next_page_token
    assert [s.current for s in sessions].count(True) == 1
    assert all(s.ip_address and s.user_agent == "pytest-browser/1.0" for s in sessions)

    other_claims = jwt.decode(other.token, options={"verify_signature": False})
    victim = next(s for s in sessions if s.name.endswith(other_claims["sid"]))
    await client.call("RevokeSession", user_pb2.RevokeSessionRequest(name=victim.name))
    error = await error_of(other.call("GetMe", user_pb2.GetMeRequest()))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_forged_page_token_is_invalid_argument(live) -> None:
    client, _ = await _signed_in(live[1])
    request = user_pb2.ListSessionsRequest(parent="users/me", page_token="eyJ0IjoxfQ.forged")
    error = await error_of(client.call("ListSessions", request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_nobody_revokes_or_lists_another_users_sessions(live) -> None:
    victim, login = await _signed_in(live[1])
    attacker, _ = await _signed_in(live[1])
    sid = jwt.decode(login.tokens.access_token, options={"verify_signature": False})["sid"]
    name = f"{login.user.name}/sessions/{sid}"
    error = await error_of(attacker.call("RevokeSession", user_pb2.RevokeSessionRequest(name=name)))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    listing = await error_of(
        attacker.call("ListSessions", user_pb2.ListSessionsRequest(parent=login.user.name))
    )
    assert listing.code() == grpc.StatusCode.NOT_FOUND
    await victim.call("GetMe", user_pb2.GetMeRequest())


async def test_verify_token_answers_services_and_rejects_dead_tokens(live) -> None:
    server, channel = live
    service_token = server.app.tokens.issue_service_token("project-service")
    client, login = await _signed_in(channel)
    verify = user_pb2.VerifyTokenRequest(access_token=login.tokens.access_token)
    verified = await client.call("VerifyToken", verify, token=service_token)
    assert verified.user == login.user.name
    assert verified.session.startswith(login.user.name + "/sessions/")

    claims = jwt.decode(login.tokens.access_token, options={"verify_signature": False})
    for bad in (
        jwt.encode(claims, None, algorithm="none"),
        jwt.encode(claims, "a-different-key-that-is-long-enough-to-sign", algorithm="HS256"),
        jwt.encode(claims | {"exp": int(time.time()) - 300}, TEST_JWT_SECRET, algorithm="HS256"),
        jwt.encode(claims | {"aud": "elsewhere"}, TEST_JWT_SECRET, algorithm="HS256"),
        login.tokens.refresh_token,
    ):
        request = user_pb2.VerifyTokenRequest(access_token=bad)
        error = await error_of(client.call("VerifyToken", request, token=service_token))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED

    await client.call("Logout", user_pb2.LogoutRequest())
    revoked = await error_of(client.call("VerifyToken", verify, token=service_token))
    assert revoked.code() == grpc.StatusCode.UNAUTHENTICATED
