"""Client addresses come from trusted proxies only: a forged X-Forwarded-For buys nothing."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from filmstudio.v1 import user_pb2

from gateway.filmstudio import filmstudio_config
from gateway.server import GatewayServer
from services.common.addresses import TrustedProxies
from services.common.config import ConfigError
from tests.support.studio import TEST_PASSWORD, studio_settings
from tests.support.users import Client, error_of

# Each test speaks from its own documentation-range address, so lockouts do not leak across.
_hosts = itertools.count(10)


def _address() -> str:
    return f"203.0.113.{next(_hosts)}"


def _email(kind: str) -> str:
    return f"addr-{kind}-{uuid.uuid4().hex[:10]}@example.com"


def _forged(real: str, index: int) -> tuple[tuple[str, str], ...]:
    """Metadata of a caller that rotates a made-up hop in front of its real address."""
    return (("x-forwarded-for", f"10.{index}.{index}.1, {real}"),)


async def _session_addresses(client: Client) -> list[str]:
    sessions = await client.call("ListSessions", user_pb2.ListSessionsRequest(parent="users/me"))
    return [session.ip_address for session in sessions.sessions]


async def test_rotating_a_forged_hop_does_not_dodge_the_address_lockout(live) -> None:
    channel, real = live[1], _address()
    codes = []
    for index in range(22):
        request = user_pb2.LoginRequest(email=_email("spray"), password="wrong password!")
        call = Client(channel).stub.Login(request, metadata=_forged(real, index))
        codes.append((await error_of(call)).code())
    # Twenty failures from one address lock it, whatever the caller wrote to its left.
    assert codes[-1] == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_rotating_a_forged_hop_does_not_dodge_the_registration_limit(live) -> None:
    channel, real = live[1], _address()
    codes = []
    for index in range(22):
        request = user_pb2.RegisterUserRequest(email=_email("bot"), password=TEST_PASSWORD)
        try:
            await Client(channel).stub.RegisterUser(request, metadata=_forged(real, index))
            codes.append(grpc.StatusCode.OK)
        except grpc.aio.AioRpcError as error:
            codes.append(error.code())
    assert codes[-1] == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_a_session_records_the_rightmost_address_no_trusted_proxy_added(live) -> None:
    real = _address()
    client = Client(live[1], ip=f"6.6.6.6, {real}")
    address = _email("session")
    await client.register(address)
    await client.login(address)
    assert await _session_addresses(client) == [real]


def test_the_walk_from_the_right_skips_trusted_proxies_and_stops_at_garbage() -> None:
    proxies = TrustedProxies("127.0.0.0/8,::1,10.0.0.0/8")
    chain = "6.6.6.6, 198.51.100.9, 10.1.2.3"
    assert proxies.client_address("127.0.0.1", chain) == "198.51.100.9"
    assert proxies.client_address("::ffff:127.0.0.1", chain) == "198.51.100.9"
    # An untrusted peer's header is only its word.
    assert proxies.client_address("198.51.100.1", chain) == "198.51.100.1"
    # Every hop a trusted proxy: the furthest one is the client.
    assert proxies.client_address("127.0.0.1", "10.9.9.9, 10.1.1.1") == "10.9.9.9"
    # A hop that is no address ends the walk at the nearest hop a proxy vouched for.
    assert proxies.client_address("127.0.0.1", "6.6.6.6, junk, 10.1.1.1") == "10.1.1.1"


def test_trusted_proxies_must_be_addresses_or_blocks(tmp_path) -> None:
    settings = studio_settings(tmp_path, TRUSTED_PROXIES="10.0.0.0/8, 192.168.1.7,::1")
    assert len(TrustedProxies(settings.trusted_proxies).networks) == 3
    with pytest.raises((ConfigError, ValueError), match="not-an-ip"):
        studio_settings(tmp_path, TRUSTED_PROXIES="10.0.0.0/8,not-an-ip")


@pytest.fixture
async def rest(live) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two gateways before the live server: one trusts its loopback peer, one trusts nobody."""
    server = live[0]
    backend = f"127.0.0.1:{server.port}"
    trusting = GatewayServer(filmstudio_config(server.app.settings, backend), port=0)
    wary = GatewayServer(
        filmstudio_config(server.app.settings, backend, trusted_proxies=()), port=0
    )
    for gateway in (trusting, wary):
        await gateway.start()
    try:
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{trusting.port}") as via_trusting,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{wary.port}") as via_wary,
        ):
            yield via_trusting, via_wary
    finally:
        for gateway in (trusting, wary):
            await gateway.stop()


async def _rest_session_addresses(http: httpx.AsyncClient, forwarded_for: str) -> list[str]:
    """Register and sign in over REST with a given X-Forwarded-For; return the session's address."""
    address = _email("rest")
    body = {"email": address, "password": TEST_PASSWORD}
    headers = {"x-forwarded-for": forwarded_for}
    assert (await http.post("/v1/users:register", json=body, headers=headers)).status_code == 200
    login = await http.post("/v1/auth:login", json=body, headers=headers)
    assert login.status_code == 200, login.text
    token = login.json()["tokens"]["accessToken"]
    sessions = await http.get("/v1/users/me/sessions", headers={"authorization": f"Bearer {token}"})
    return [session["ipAddress"] for session in sessions.json()["sessions"]]


async def test_the_gateway_replaces_the_header_of_a_peer_it_does_not_trust(rest) -> None:
    _, via_wary = rest
    assert await _rest_session_addresses(via_wary, "6.6.6.6") == ["127.0.0.1"]


async def test_the_gateway_extends_the_header_of_a_trusted_proxy(rest) -> None:
    via_trusting, _ = rest
    real = _address()
    assert await _rest_session_addresses(via_trusting, f"6.6.6.6, {real}") == [real]


async def test_a_rest_session_records_the_browser_user_agent_not_the_gateway(rest) -> None:
    via_trusting, _ = rest
    body = {"email": _email("agent"), "password": TEST_PASSWORD}
    browser = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) FilmStudioTest/1.0"}
    assert (await via_trusting.post("/v1/users:register", json=body)).status_code == 200
    login = await via_trusting.post("/v1/auth:login", json=body, headers=browser)
    token = login.json()["tokens"]["accessToken"]
    sessions = await via_trusting.get(
        "/v1/users/me/sessions", headers={"authorization": f"Bearer {token}"}
    )
    assert [s["userAgent"] for s in sessions.json()["sessions"]] == [browser["user-agent"]]


# --- Tokens at the door: query tokens, oversized headers, two tabs refreshing at once ---------


async def _rest_token(http: httpx.AsyncClient) -> str:
    body = {"email": _email("tok"), "password": TEST_PASSWORD}
    await http.post("/v1/users:register", json=body)
    login = await http.post("/v1/auth:login", json=body)
    return str(login.json()["tokens"]["accessToken"])


async def test_a_query_token_is_refused_on_a_route_that_can_take_a_header(rest) -> None:
    http, _ = rest
    token = await _rest_token(http)
    response = await http.get("/v1/users/me", params={"access_token": token})
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["message"]
    assert (await http.get("/v1/users/me", headers={"authorization": f"Bearer {token}"})).is_success


async def test_a_query_token_still_opens_an_event_stream(rest) -> None:
    http, _ = rest
    token = await _rest_token(http)
    headers = {"accept": "text/event-stream"}
    anonymous = await http.get("/v1/jobs/999999:watch", headers=headers)
    assert anonymous.status_code == 401
    # The token is taken: the stream gets as far as looking for the job.
    watched = await http.get(
        "/v1/jobs/999999:watch", params={"access_token": token}, headers=headers
    )
    assert watched.status_code == 404


async def test_an_oversized_authorization_header_is_a_plain_431_over_rest(rest) -> None:
    http, _ = rest
    for size in (10_000, 20_000):
        response = await http.get("/v1/users/me", headers={"authorization": "Bearer " + "a" * size})
        assert response.status_code == 431
        message = response.json()["message"]
        assert "Authorization is longer than" in message
        assert "metadata size" not in message


async def test_an_oversized_token_is_unauthenticated_over_grpc_without_internals(live) -> None:
    client = Client(live[1])
    for size in (10_000, 10_000, 10_000, 10_000, 20_000, 60_000):
        error = await error_of(client.call("GetMe", user_pb2.GetMeRequest(), token="a" * size))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "too long" in error.details()
        assert "vs." not in error.details()


async def test_two_tabs_refreshing_with_one_token_both_carry_on(live) -> None:
    client = Client(live[1])
    address = _email("tabs")
    await client.register(address)
    login = await client.login(address)
    request = user_pb2.RefreshTokenRequest(refresh_token=login.tokens.refresh_token)
    tabs = await asyncio.gather(
        client.call("RefreshToken", request), client.call("RefreshToken", request)
    )
    for tab in tabs:
        me = await client.call("GetMe", user_pb2.GetMeRequest(), token=tab.tokens.access_token)
        assert me.user.email == address
        # Each tab goes on rotating its own refresh token.
        refresh = user_pb2.RefreshTokenRequest(refresh_token=tab.tokens.refresh_token)
        await client.call("RefreshToken", refresh)
