"""The `filmstudio` command as users run it, driven by grpcurl like an engineer would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.descriptors import contract_services

BIN = Path(sys.executable).parent
GRPCURL = str(BIN / "grpcurl")
FILMSTUDIO = str(BIN / "filmstudio")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _grpcurl(
    port: int, *args: str, data: str | None = None, token: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run `grpcurl -plaintext [-H auth] [-d DATA] 127.0.0.1:PORT ARGS...`."""
    flags = ["-plaintext", "-max-time", "10", *(["-d", data] if data is not None else [])]
    if token:
        flags += ["-H", f"authorization: Bearer {token}"]
    return subprocess.run(
        [GRPCURL, *flags, f"127.0.0.1:{port}", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def _environment_of(process: subprocess.Popen[str]) -> dict[str, str]:
    """Return the environment a child was started with (Popen keeps the args, not env)."""
    raw = Path(f"/proc/{process.pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def _wait_serving(process: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"server exited early: {process.stdout.read() if process.stdout else ''}"
            )
        result = _grpcurl(port, "grpc.health.v1.Health/Check")
        if '"SERVING"' in result.stdout:
            return
        time.sleep(0.2)
    raise AssertionError("server did not become SERVING within 30 s")


def _start(tmp_path: Path, *command: str, env: dict[str, str] | None = None):
    port = _free_port()
    environment = {
        **os.environ,
        "FILMSTUDIO_VAR_DIR": str(tmp_path / "var"),
        "GRPC_PORT": str(port),
        "GATEWAY_PORT": str(_free_port()),
        "LOG_FORMAT": "json",
        **(env or {}),
    }
    if "DATABASE_URL" not in (env or {}):
        environment.pop("DATABASE_URL", None)  # `run` must work on embedded defaults
    process = subprocess.Popen(
        [FILMSTUDIO, *command],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, port


@pytest.fixture
def studio_run(tmp_path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    process, port = _start(tmp_path, "run")
    try:
        _wait_serving(process, port)
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_run_serves_every_service_with_health_and_reflection(studio_run) -> None:
    _, port = studio_run
    listed = _grpcurl(port, "list").stdout.split()
    assert listed == [
        *contract_services(),
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    ]


def test_run_serves_rest_beside_grpc(studio_run) -> None:
    process, _ = studio_run
    gateway = int(_environment_of(process)["GATEWAY_PORT"])
    for _ in range(100):  # the gateway starts just after the gRPC server reports SERVING
        try:
            health = httpx.get(f"http://127.0.0.1:{gateway}/healthz", timeout=10)
            break
        except httpx.ConnectError:
            time.sleep(0.1)
    assert health.status_code == 200
    me = httpx.get(f"http://127.0.0.1:{gateway}/v1/users/me", timeout=10)
    assert me.status_code == 401
    assert me.json()["code"] == 16


def test_grpcurl_can_describe_and_call_through_reflection(studio_run) -> None:
    _, port = studio_run
    described = _grpcurl(port, "describe", "filmstudio.v1.ProjectService.CreateProject")
    assert "rpc CreateProject" in described.stdout
    unauthenticated = _grpcurl(
        port, "filmstudio.v1.ProjectService/GetProject", data='{"name": "projects/1"}'
    )
    assert "Code: Unauthenticated" in unauthenticated.stdout + unauthenticated.stderr
    assert "CREDENTIALS_MISSING" in unauthenticated.stdout + unauthenticated.stderr


def test_sigterm_drains_and_exits_cleanly(studio_run) -> None:
    process, _ = studio_run
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "gRPC server draining" in output
    assert "gRPC server stopped" in output
    assert "Traceback" not in output


def test_serve_hosts_only_the_named_services_on_postgres(tmp_path, postgres_url) -> None:
    env = {"DATABASE_URL": postgres_url}
    process, port = _start(tmp_path, "serve", "--services", "user,project", "--migrate", env=env)
    try:
        _wait_serving(process, port)
        listed = _grpcurl(port, "list").stdout.split()
        assert listed == [
            "filmstudio.v1.ProjectService",
            "filmstudio.v1.UserService",
            "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection",
        ]
        admin = _grpcurl(
            port, "grpc.health.v1.Health/Check", data='{"service": "filmstudio.v1.AdminService"}'
        )
        assert "NotFound" in admin.stdout + admin.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_serve_rejects_unknown_services(tmp_path) -> None:
    process, _ = _start(tmp_path, "serve", "--services", "user,billing")
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "unknown services" in output


def test_production_without_secrets_is_a_clear_start_up_error(tmp_path) -> None:
    process, _ = _start(tmp_path, "run", env={"FILMSTUDIO_ENV": "production", "DATABASE_URL": ""})
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "configuration error" in output
    assert "JWT_SECRET" in output


def test_migrate_command_brings_postgres_to_head(tmp_path, postgres_url) -> None:
    process, _ = _start(tmp_path, "migrate", env={"DATABASE_URL": postgres_url})
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "latest revision" in output


def test_users_promote_makes_an_admin_from_the_command_line(tmp_path) -> None:
    process, port = _start(tmp_path, "run")
    try:
        _wait_serving(process, port)
        account = '{"email": "boss@example.com", "password": "correct horse battery staple"}'
        registered = _grpcurl(port, "filmstudio.v1.UserService/RegisterUser", data=account)
        assert registered.returncode == 0, registered.stderr
        promote = subprocess.run(
            [FILMSTUDIO, "users", "promote", "BOSS@example.com", "--role", "admin"],
            env={**os.environ, "FILMSTUDIO_VAR_DIR": str(tmp_path / "var")},
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert promote.returncode == 0, promote.stdout + promote.stderr
        login = _grpcurl(port, "filmstudio.v1.UserService/Login", data=account)
        token = json.loads(login.stdout)["tokens"]["accessToken"]
        stats = _grpcurl(port, "filmstudio.v1.AdminService/GetSystemStats", token=token)
        # Admitted by the admin policy and answered by the admin domain.
        assert stats.returncode == 0, stats.stdout + stats.stderr
        assert json.loads(stats.stdout)["stats"]["totalUsers"] == "1"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


def test_users_promote_reports_an_unknown_account(tmp_path) -> None:
    promote = subprocess.run(
        [FILMSTUDIO, "users", "promote", "nobody@example.com"],
        env={**os.environ, "FILMSTUDIO_VAR_DIR": str(tmp_path / "var")},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert promote.returncode == 1


def _log_lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def _serving_children(parent: int) -> list[int]:
    """Return the pids of the serving copies a `serve --processes` parent started."""
    found = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout
    pids = [int(pid) for pid in found.split()]
    return [pid for pid in pids if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def _listening_inodes(port: int) -> set[str]:
    """Return the socket inodes listening on PORT, read from /proc/net (gRPC binds IPv6-mapped)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # 0A: LISTEN
                inodes.add(fields[9])
    return inodes


def _wait_all_listening(parent: int, port: int, copies: int) -> list[int]:
    """Wait until COPIES serving children each hold a listening socket on PORT."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listening = _listening_inodes(port)
        ready = []
        for pid in _serving_children(parent):
            try:
                links = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
            except (FileNotFoundError, PermissionError):
                continue  # a copy between exec and its first fd, or just gone
            if any(f"socket:[{inode}]" in links for inode in listening):
                ready.append(pid)
        if len(ready) == copies:
            return ready
        time.sleep(0.2)
    raise AssertionError(f"{copies} copies did not all listen on {port} within 30 s")


def test_serve_processes_share_one_port_and_drain_together(tmp_path, postgres_url) -> None:
    env = {"DATABASE_URL": postgres_url}
    process, port = _start(
        tmp_path, "serve", "--services", "credits", "--processes", "2", "--migrate", env=env
    )
    try:
        _wait_serving(process, port)
        # The first answer proves one copy serves; on a busy machine the second may still be
        # starting, and a SIGTERM then would stop it before it ever logs that it listens.
        assert len(_wait_all_listening(process.pid, port, copies=2)) == 2
        for _ in range(4):  # separate connections, spread over the copies by the kernel
            assert '"SERVING"' in _grpcurl(port, "grpc.health.v1.Health/Check").stdout
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    lines = _log_lines(output)
    listening = {line["pid"] for line in lines if line["message"] == "gRPC server listening"}
    stopped = {line["pid"] for line in lines if line["message"] == "gRPC server stopped"}
    assert len(listening) == 2
    assert stopped == listening
    assert "Traceback" not in output


def test_serve_processes_stop_all_when_one_dies(tmp_path, postgres_url) -> None:
    env = {"DATABASE_URL": postgres_url}
    process, port = _start(
        tmp_path, "serve", "--services", "credits", "--processes", "2", "--migrate", env=env
    )
    try:
        _wait_serving(process, port)
        victim, survivor = _serving_children(process.pid)
        os.kill(victim, signal.SIGKILL)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 1  # the orchestrator restarts the whole set
    assert not Path(f"/proc/{survivor}").exists()
    died = [line for line in _log_lines(output) if line["message"].startswith("serving process")]
    assert died
    assert died[0]["exit_code"] == -signal.SIGKILL


@pytest.mark.parametrize(
    ("services", "env", "error"),
    [
        ("credits", {}, "needs a PostgreSQL DATABASE_URL"),
        ("jobs", {"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1/x"}, "needs REDIS_URL"),
        ("credits", {"GRPC_PORT": "0"}, "needs a fixed GRPC_PORT"),
    ],
)
def test_serve_processes_refuse_state_the_copies_cannot_share(
    tmp_path, services: str, env: dict[str, str], error: str
) -> None:
    process, _ = _start(
        tmp_path, "serve", "--services", services, "--processes", "2", env={"REDIS_URL": "", **env}
    )
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 2
    assert error in output


def test_serve_processes_end_with_their_supervisor(tmp_path, postgres_url) -> None:
    env = {"DATABASE_URL": postgres_url}
    process, port = _start(
        tmp_path, "serve", "--services", "credits", "--processes", "2", "--migrate", env=env
    )
    try:
        _wait_serving(process, port)
        children = _serving_children(process.pid)
        process.kill()  # no chance to stop them: the kernel's parent-death signal must
        process.communicate(timeout=30)
        deadline = time.monotonic() + 20
        while any(Path(f"/proc/{pid}").exists() for pid in children):
            assert time.monotonic() < deadline, "serving copies outlived their supervisor"
            time.sleep(0.1)
    finally:
        if process.poll() is None:
            process.kill()


def _listens(pid: int, port: int) -> bool:
    """Tell whether a process holds a socket listening on the port."""
    listing = subprocess.run(
        ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True
    ).stdout
    return f"pid={pid}," in listing


def test_gateway_processes_share_one_port(tmp_path) -> None:
    port = _free_port()
    process, _ = _start(tmp_path, "gateway", "--port", str(port), "--processes", "2")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the gateway copies did not listen"
                time.sleep(0.2)
        assert answer.status_code == 200
        children = _serving_children(process.pid)
        assert len(children) == 2
        while not all(_listens(pid, port) for pid in children):  # the second may still start
            assert time.monotonic() < deadline, "a gateway copy did not listen"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    listening = {
        line["pid"] for line in _log_lines(output) if line["message"] == "gateway listening"
    }
    assert len(listening) == 2
