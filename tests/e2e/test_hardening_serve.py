"""`filmstudio serve` refuses a taken port, and reflection can be turned off."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.e2e.test_cli import _grpcurl, _start, _wait_serving


def _wait_healthy(process: subprocess.Popen[str], port: int) -> None:
    """Wait for SERVING with a generated health stub: grpcurl needs the reflection tested off."""
    deadline = time.monotonic() + 30
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            assert process.poll() is None, "the server exited early"
            try:
                answer = stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise AssertionError("server did not become SERVING within 30 s")


def _stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    return output


def test_a_second_serve_on_a_taken_port_refuses_to_start(tmp_path) -> None:
    first, port = _start(tmp_path / "a", "serve", "--services", "credits", "--migrate")
    second = None
    try:
        _wait_serving(first, port)
        second, _ = _start(
            tmp_path / "b", "serve", "--services", "credits", env={"GRPC_PORT": str(port)}
        )
        try:
            output = second.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            raise AssertionError("the second server kept running on the taken port") from None
        assert second.returncode == 1, output
        assert "is the port in use" in output
        assert "Traceback" not in output
        # The first server still has the port to itself and answers.
        assert '"SERVING"' in _grpcurl(port, "grpc.health.v1.Health/Check").stdout
    finally:
        for process in (second, first):
            if process is not None:
                _stop(process)


def test_reflection_can_be_turned_off(tmp_path) -> None:
    process, port = _start(
        tmp_path, "serve", "--services", "credits", "--migrate", env={"GRPC_REFLECTION": "false"}
    )
    try:
        _wait_healthy(process, port)
        listed = _grpcurl(port, "list")
        assert listed.returncode != 0
        assert "reflection" in (listed.stderr + listed.stdout).lower()
    finally:
        _stop(process)


def _refused(process: subprocess.Popen[str]) -> str:
    """Return the output of a process that must exit 1 at once, saying the port is taken."""
    try:
        output = process.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("it kept running on the taken port") from None
    assert process.returncode == 1, output
    assert "is the port in use" in output
    assert "Traceback" not in output
    return output


def test_run_and_gateway_on_a_taken_gateway_port_say_so_and_leave_nothing_running(
    tmp_path,
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        studio, grpc_port = _start(tmp_path / "run", "run", env={"GATEWAY_PORT": str(port)})
        _refused(studio)
        with socket.socket() as probe:  # the gRPC server it had started was stopped too
            assert probe.connect_ex(("127.0.0.1", grpc_port)) != 0
        gateway, _ = _start(tmp_path / "gateway", "gateway", "--port", str(port))
        _refused(gateway)


def test_serve_on_a_never_migrated_database_says_to_migrate(tmp_path) -> None:
    process, port = _start(tmp_path, "serve", "--services", "user")
    try:
        _wait_serving(process, port)
        answer = _grpcurl(
            port,
            "filmstudio.v1.UserService/RegisterUser",
            data='{"email": "new@example.com", "password": "a long passphrase for new"}',
        )
        assert "Unavailable" in answer.stderr, answer.stderr
        assert "filmstudio migrate" in answer.stderr
        assert "DATABASE_NOT_MIGRATED" in answer.stderr
    finally:
        output = _stop(process)
    assert "the database has no schema: run `filmstudio migrate`" in output
