"""`make up`'s plan: ports, programs, supervisord's configuration and the secrets file."""

from __future__ import annotations

import stat
from pathlib import Path

from services.cli import _parser
from services.topology import secrets_file
from services.topology.infra import Infra, Program
from services.topology.layout import SERVICE_KEYS, Layout
from services.topology.programs import common_env, render, studio_programs


def _layout(tmp_path: Path) -> Layout:
    return Layout.from_env({"TOPOLOGY_DIR": str(tmp_path), "TOPOLOGY_GRPC_PORT": "41000",
                            "TOPOLOGY_METRICS_PORT": "42000", "QUEUE_PREFIX": "t"})  # fmt: skip


def _programs(tmp_path: Path) -> tuple[Layout, list[Program]]:
    layout = _layout(tmp_path)
    secrets, _ = secrets_file.load_or_create(layout.state)
    infra = Infra("postgresql://postgres@127.0.0.1:5432/x", "redis://127.0.0.1:6379/0", {}, (), ())
    return layout, studio_programs(layout, common_env(layout, infra, secrets))


def test_every_process_has_ports_of_its_own(tmp_path: Path) -> None:
    ports = list(_layout(tmp_path).bound_ports().values())
    assert len(ports) == len(set(ports)) == 1 + 2 * len(SERVICE_KEYS) + 2


def test_one_serve_per_service_a_routing_gateway_and_two_workers(tmp_path: Path) -> None:
    layout, programs = _programs(tmp_path)
    by_name = {program.name: program for program in programs}
    assert set(by_name) == {*SERVICE_KEYS, "gateway", "worker-1", "worker-2"}
    for program in programs:
        args = _parser().parse_args(list(program.command[1:]))  # real commands and options
        assert program.env["FILMSTUDIO_ENV"] == "production"
        assert len(program.env["JWT_SECRET"]) >= 32
        if args.command == "serve":
            assert program.env["GRPC_PORT"] == str(layout.service_port(program.name))
            socket = layout.service_socket(program.name)
            assert program.env["GRPC_UNIX_SOCKET"] == str(socket or "")
    assert by_name["jobs"].command[-1] == "jobs,project"  # workers' GetProject
    gateway = " ".join(by_name["gateway"].command)
    # The gateway reaches each service on its Unix socket (TCP where the path is too long).
    assert f"--backend={layout.gateway_target('user')}" in gateway
    assert all(f"--route={key}={layout.gateway_target(key)}" in gateway for key in SERVICE_KEYS[1:])
    metrics = [program.env["METRICS_PORT"] for program in programs if "METRICS_PORT" in program.env]
    assert len(metrics) == len(set(metrics)) == len(SERVICE_KEYS) + 2


def test_services_are_reached_on_unix_sockets_unless_the_path_is_too_long(tmp_path) -> None:
    short = Layout.from_env({"TOPOLOGY_DIR": "/run/fs", "TOPOLOGY_GRPC_PORT": "41000"})
    assert short.gateway_target("credits") == "unix:/run/fs/topology/credits.sock"
    deep = Layout.from_env({"TOPOLOGY_DIR": "/run/" + "d" * 100, "TOPOLOGY_GRPC_PORT": "41000"})
    assert deep.service_socket("credits") is None
    assert deep.gateway_target("credits") == "127.0.0.1:41002"


def test_supervisord_config_stops_groups_in_reverse_and_escapes_values(tmp_path: Path) -> None:
    layout, programs = _programs(tmp_path)
    redis = Program("redis", ("redis-server", "--save", ""), "infra", {"X": "100%"})
    text = render(layout, [redis, *programs])
    assert 'command=redis-server --save ""' in text
    assert 'X="100%%"' in text
    assert "[group:workers]\nprograms=worker-1,worker-2\npriority=40" in text
    assert "[group:infra]\nprograms=redis\npriority=10" in text
    assert text.count("autostart=false") == len(programs) + 1


def test_secrets_are_made_once_and_only_the_owner_reads_them(tmp_path: Path) -> None:
    first, created = secrets_file.load_or_create(tmp_path)
    assert created == tmp_path / secrets_file.FILE_NAME
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
    again, created_again = secrets_file.load_or_create(tmp_path)
    assert (again, created_again) == (first, None)
