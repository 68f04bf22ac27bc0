"""GRPC_UNIX_SOCKET: the server also listens on a Unix socket, and the gateway reaches it there."""

from __future__ import annotations

import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from filmstudio.v1 import user_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.filmstudio import filmstudio_config
from gateway.server import GatewayServer
from services.bootstrap import resolve
from services.common.config import ConfigError
from services.common.processes import check_processes
from tests.support.studio import TEST_PASSWORD, running_studio, studio_settings
from tests.support.users import Client


@pytest.fixture
def socket_path() -> Iterator[Path]:
    # Short: pytest's tmp_path can exceed a socket path's 108 bytes.
    with tempfile.TemporaryDirectory(prefix="fs-") as folder:
        yield Path(folder) / "run" / "grpc.sock"


async def _serving(target: str) -> bool:
    async with grpc.aio.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        return answer.status == health_pb2.HealthCheckResponse.SERVING


async def test_the_server_answers_on_its_socket_and_removes_it_at_stop(tmp_path, socket_path):
    settings = studio_settings(tmp_path, GRPC_UNIX_SOCKET=str(socket_path))
    assert settings.local_grpc_target == f"unix:{socket_path}"
    async with running_studio(settings, resolve("user")) as (server, _):
        assert server.unix_socket == str(socket_path)
        assert await _serving(f"unix:{socket_path}")
    assert not socket_path.exists()


async def test_a_socket_left_by_a_dead_server_is_taken_over(tmp_path, socket_path) -> None:
    socket_path.parent.mkdir(parents=True)
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(socket_path))  # bound, never listening: as after a crash
    settings = studio_settings(tmp_path, GRPC_UNIX_SOCKET=str(socket_path))
    async with running_studio(settings, resolve("user")):
        assert await _serving(f"unix:{socket_path}")


async def test_a_live_server_s_socket_is_not_taken_from_it(tmp_path, socket_path) -> None:
    settings = studio_settings(tmp_path, GRPC_UNIX_SOCKET=str(socket_path))
    async with running_studio(settings, resolve("user")):
        second = studio_settings(tmp_path / "second", GRPC_UNIX_SOCKET=str(socket_path))
        with pytest.raises(OSError, match="served by another process"):
            async with running_studio(second, resolve("user")):
                pass
        assert await _serving(f"unix:{socket_path}")


async def test_a_path_that_is_not_a_socket_is_refused(tmp_path, socket_path) -> None:
    socket_path.parent.mkdir(parents=True)
    socket_path.write_text("keep me")
    settings = studio_settings(tmp_path, GRPC_UNIX_SOCKET=str(socket_path))
    with pytest.raises(OSError, match="is not a socket"):
        async with running_studio(settings, resolve("user")):
            pass
    assert socket_path.read_text() == "keep me"


def test_copies_on_one_port_cannot_share_a_socket(tmp_path) -> None:
    settings = studio_settings(
        tmp_path, "postgresql+psycopg://x@127.0.0.1/x", GRPC_UNIX_SOCKET=str(tmp_path / "x.sock")
    )
    with pytest.raises(ConfigError, match="GRPC_UNIX_SOCKET"):
        check_processes(settings, 2, ["user"])


def test_a_socket_path_too_long_for_the_kernel_is_refused(tmp_path) -> None:
    with pytest.raises((ConfigError, ValueError), match="GRPC_UNIX_SOCKET"):
        studio_settings(tmp_path, GRPC_UNIX_SOCKET="/run/" + "x" * 200)


async def test_rest_through_a_gateway_on_the_socket_keeps_the_client_s_address(
    tmp_path, socket_path
) -> None:
    settings = studio_settings(tmp_path, GRPC_UNIX_SOCKET=str(socket_path))
    async with running_studio(settings, resolve("user")) as (_, channel):
        gateway = GatewayServer(filmstudio_config(settings, settings.local_grpc_target), port=0)
        await gateway.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.port}") as http:
                email = f"unix-{uuid.uuid4().hex[:10]}@example.com"
                body = {"email": email, "password": TEST_PASSWORD}
                # The gateway trusts its loopback peer's header and passes the chain on; the
                # server trusts its socket peer as it does loopback.
                headers = {"x-forwarded-for": "198.51.100.23"}
                assert (
                    await http.post("/v1/users:register", json=body, headers=headers)
                ).is_success
                login = await http.post("/v1/auth:login", json=body, headers=headers)
                token = login.json()["tokens"]["accessToken"]
                sessions = await http.get(
                    "/v1/users/me/sessions", headers={"authorization": f"Bearer {token}"}
                )
        finally:
            await gateway.stop()
        assert [s["ipAddress"] for s in sessions.json()["sessions"]] == ["198.51.100.23"]
        # And the TCP port still serves as before.
        me = await Client(channel).call("GetMe", user_pb2.GetMeRequest(), token=token)
        assert me.user.email == email
