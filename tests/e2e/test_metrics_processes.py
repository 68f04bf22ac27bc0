"""/metrics of real processes: `filmstudio run` on its gateway port, `serve` copies on their own."""

from __future__ import annotations

import signal
import socket

import grpc
import httpx
import pytest
from filmstudio.v1 import user_pb2, user_pb2_grpc

from tests.e2e.test_cli import _start, _wait_all_listening, _wait_serving
from tests.support.metrics import scrape_sync, value
from tests.support.studio import free_port
from tests.support.studio_process import studio_process

HANDLED = "grpc_server_handled_total"
GET_ME_REFUSED = {
    "grpc_type": "unary",
    "grpc_service": "filmstudio.v1.UserService",
    "grpc_method": "GetMe",
    "grpc_code": "UNAUTHENTICATED",
}


def test_run_shows_the_rpcs_it_served_on_the_gateway_metrics(tmp_path) -> None:
    with studio_process(tmp_path) as studio:
        body = {"email": "ada@example.com", "password": "a long passphrase for ada"}
        answer = httpx.post(f"{studio.gateway_url}/v1/users:register", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        assert httpx.get(f"{studio.gateway_url}/v1/users/me", timeout=10).status_code == 401
        samples = scrape_sync(f"{studio.gateway_url}/metrics")
    register = {**GET_ME_REFUSED, "grpc_method": "RegisterUser", "grpc_code": "OK"}
    assert value(samples, HANDLED, **register) == 1
    assert value(samples, HANDLED, **GET_ME_REFUSED) == 1
    route = {"route": "/v1/users:register", "method": "POST", "status": "200"}
    assert value(samples, "gateway_http_requests_total", **route) == 1
    assert value(samples, "filmstudio_credits_issued_total", kind="monthly_allowance") > 0


def _free_port_pair() -> int:
    """Return a port P with P and P + 1 both free right now."""
    while True:
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


def test_each_serve_copy_serves_its_own_metrics_and_together_they_count_every_call(
    tmp_path, postgres_url
) -> None:
    metrics_port = _free_port_pair()
    env = {"DATABASE_URL": postgres_url, "METRICS_PORT": str(metrics_port)}
    process, port = _start(
        tmp_path, "serve", "--services", "user", "--processes", "2", "--migrate", env=env
    )
    calls = 12
    try:
        _wait_serving(process, port)
        _wait_all_listening(process.pid, port, copies=2)
        for _ in range(calls):  # a connection each, spread over the copies by the kernel
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = user_pb2_grpc.UserServiceStub(channel)
                with pytest.raises(grpc.RpcError) as refused:
                    stub.GetMe(user_pb2.GetMeRequest(), timeout=10)
                assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
        counts = [
            value(scrape_sync(f"http://127.0.0.1:{copy}/metrics"), HANDLED, **GET_ME_REFUSED)
            for copy in (metrics_port, metrics_port + 1)
        ]
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert sum(counts) == calls, counts
    assert process.returncode == 0, output
    assert "Traceback" not in output
