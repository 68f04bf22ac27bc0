"""Start the topology in order (databases, migrations, services, gateway, workers); stop it."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import xmlrpc.client
from pathlib import Path
from typing import Any

from services.topology import infra as infra_mod
from services.topology import secrets_file
from services.topology.infra import Infra, port_open, wait_until
from services.topology.layout import SERVICE_KEYS, WEED_PORTS, WORKERS, Layout
from services.topology.programs import common_env, filmstudio, render, studio_programs

FAILED_STATES = {"FATAL", "EXITED", "STOPPED", "UNKNOWN"}
STOP_ORDER = ("workers", "gateway", "services", "infra")


def say(text: str) -> None:
    """Tell the operator (stdout: this is a command, not a server)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def running_pid(layout: Layout) -> int | None:
    """Return supervisord's pid when the topology is up."""
    try:
        pid = int(layout.pidfile.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _proxy(layout: Layout) -> Any:
    from supervisor.xmlrpc import SupervisorTransport  # type: ignore[import-untyped]

    transport = SupervisorTransport(None, None, f"unix://{layout.socket}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def _tail(layout: Layout, name: str, lines: int = 15) -> str:
    path = layout.logs / f"{name}.log"
    if not path.exists():
        return f"(no {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class Starter:
    """Starts groups through supervisord and waits until each program is ready."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.proxy = _proxy(layout)

    def start(self, group: str) -> None:
        """Start a group without waiting (readiness is checked by what each program serves)."""
        self.proxy.supervisor.startProcessGroup(group, False)

    def all_running(self) -> bool:
        """Tell whether every program is RUNNING under supervisord (past its startsecs)."""
        infos = self.proxy.supervisor.getAllProcessInfo()
        return all(info["statename"] == "RUNNING" for info in infos)

    def wait(self, names: list[str], ready: Any, seconds: float, what: str) -> None:
        """Wait until `ready()`, failing at once if one of `names` dies."""

        def check() -> bool:
            for name in names:
                state = self.proxy.supervisor.getProcessInfo(name)["statename"]
                if state in FAILED_STATES:
                    program = name.split(":")[-1]
                    raise RuntimeError(
                        f"{program} is {state}; the end of {self.layout.logs / program}.log:\n"
                        + _tail(self.layout, program)
                    )
            return bool(ready())

        wait_until(check, seconds, what)


def _grpc_serving(target: str) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    channel = grpc.insecure_channel(target)
    try:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=1
        )
    except grpc.RpcError:
        return False
    finally:
        channel.close()
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our own loopback
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _workers_registered(redis_url: str, names: set[str]) -> bool:
    import redis
    from rq import Worker

    with redis.Redis.from_url(redis_url) as connection:
        return names <= {worker.name for worker in Worker.all(connection=connection)}


def _start_infra(starter: Starter, infra: Infra, layout: Layout) -> None:
    own = [f"infra:{program.name}" for program in infra.programs]
    if own:
        starter.start("infra")
    starter.wait(own, lambda: infra_mod.database_ready(infra.database_url), 60, "PostgreSQL")
    starter.wait(own, lambda: infra_mod.redis_ready(infra.redis_url), 30, "Redis")
    if not layout.database_url and infra_mod.create_database(infra.database_url):
        say(f"created database {infra.database_url.rsplit('/', 1)[1]}")
    if "infra:seaweedfs" in own:
        endpoint = infra.s3_env["S3_ENDPOINT_URL"]
        starter.wait(own, lambda: infra_mod.s3_ready(endpoint), 60, "SeaweedFS S3")
        infra_mod.create_bucket(infra.s3_env)


def _migrate(layout: Layout, env: dict[str, str]) -> None:
    log = layout.logs / "migrate.log"
    with log.open("ab") as out:
        done = subprocess.run(  # noqa: S603 - our own command
            [filmstudio(), "migrate"], env=os.environ | env, stdout=out, stderr=out, check=False
        )
    if done.returncode:
        raise RuntimeError(
            f"filmstudio migrate failed; the end of {log}:\n{_tail(layout, 'migrate')}"
        )


def _start_studio(starter: Starter, layout: Layout, redis_url: str) -> None:
    services = [f"services:{key}" for key in SERVICE_KEYS]
    starter.start("services")
    for key in SERVICE_KEYS:
        target = layout.service_target(key)
        ready = functools.partial(_grpc_serving, target)
        starter.wait(services, ready, 120, f"the {key} service")
    starter.start("gateway")
    readyz = f"http://127.0.0.1:{layout.gateway_port}/readyz"
    starter.wait(["gateway:gateway", *services], lambda: _http_ok(readyz), 90, "the gateway")
    starter.start("workers")
    workers = [f"worker-{index}" for index in range(1, WORKERS + 1)]
    names = {f"{layout.queue_prefix}-{worker}" for worker in workers}
    programs = [f"workers:{worker}" for worker in workers]
    starter.wait(programs, lambda: _workers_registered(redis_url, names), 90, "the workers")
    # Ready is not enough: every program must also have outlived supervisord's startsecs.
    starter.wait(programs, starter.all_running, 30, "every program RUNNING")


def _launch_supervisord(layout: Layout, text: str) -> None:
    layout.state.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(layout.config_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    layout.config_file.chmod(0o600)
    supervisord = Path(sys.executable).parent / "supervisord"
    # It daemonizes: the parent returns once the child has written its pid file.
    subprocess.run([str(supervisord), "-c", str(layout.config_file)], check=True)  # noqa: S603
    wait_until(lambda: _answers(layout), 20, "supervisord")


def _answers(layout: Layout) -> bool:
    try:
        return bool(_proxy(layout).supervisor.getState()["statename"] == "RUNNING")
    except (OSError, xmlrpc.client.Fault):
        return False


def up(layout: Layout) -> int:
    """Start everything in order; a no-op when it is already up."""
    pid = running_pid(layout)
    if pid is not None:
        say(f"already up (supervisord pid {pid}); `make down` first to restart it")
        return 0
    taken = [f"{port} ({what})" for what, port in layout.bound_ports().items() if port_open(port)]
    if taken:
        say(f"cannot start: in use: {', '.join(taken)}. Is `make run` running? Set "
            "GATEWAY_PORT, TOPOLOGY_GRPC_PORT or TOPOLOGY_METRICS_PORT to move them.")  # fmt: skip
        return 1
    secrets, created = secrets_file.load_or_create(layout.state)
    if created is not None:
        say(f"made development-only secrets in {created} (mode 600); never use them in production")
    infra = infra_mod.plan_infra(layout, secrets)
    weed_ports = [layout.weed_port(name) for name in WEED_PORTS]
    if any(p.name == "seaweedfs" for p in infra.programs) and any(map(port_open, weed_ports)):
        say(f"cannot start SeaweedFS: one of ports {weed_ports} is in use (TOPOLOGY_S3_PORT)")
        return 1
    env = common_env(layout, infra, secrets)
    programs = [*infra.programs, *studio_programs(layout, env)]
    _launch_supervisord(layout, render(layout, programs))
    starter = Starter(layout)
    try:
        _start_infra(starter, infra, layout)
        _migrate(layout, env)
        _start_studio(starter, layout, infra.redis_url)
    except (RuntimeError, TimeoutError, OSError, xmlrpc.client.Fault) as error:
        say(f"make up failed: {error}\nstopping what started; logs are in {layout.logs}")
        down(layout, quiet=True)
        return 1
    except BaseException:  # a bug or ^C: leave nothing running behind a traceback
        down(layout, quiet=True)
        raise
    _summary(layout, infra)
    return 0


def _summary(layout: Layout, infra: Infra) -> None:
    pid = running_pid(layout)
    say(f"FilmStudio is up: production shape under supervisord (pid {pid})")
    say(
        f"  gateway     http://127.0.0.1:{layout.gateway_port}  (REST, web page, /readyz, /metrics)"
    )
    for key in SERVICE_KEYS:
        port, metrics = layout.service_port(key), layout.service_metrics_port(key)
        say(f"  {key:<10}  grpc 127.0.0.1:{port}  metrics :{metrics}")
    for index in range(1, WORKERS + 1):
        say(f"  worker-{index}    metrics :{layout.worker_metrics_port(index)}")
    for program in infra.programs:
        say(f"  {program.name:<10}  started by make up (stopped by make down)")
    for found in infra.shared:
        say(f"  using {found} as it runs (make down leaves it alone)")
    say(f"logs: {layout.logs}/NAME.log   status: make status   stop: make down")


def down(layout: Layout, *, quiet: bool = False) -> int:
    """Stop every process `make up` started, workers first and databases last."""
    pid = running_pid(layout)
    if pid is None:
        if not quiet:
            say("not up")
        with contextlib.suppress(FileNotFoundError):
            layout.pidfile.unlink()
        return 0
    proxy = _proxy(layout)
    with contextlib.suppress(OSError, xmlrpc.client.Fault):
        groups = {info["group"] for info in proxy.supervisor.getAllProcessInfo()}
        for group in STOP_ORDER:
            if group in groups:
                proxy.supervisor.stopProcessGroup(group, True)
        proxy.supervisor.shutdown()
    try:
        wait_until(lambda: running_pid(layout) is None, 60, "supervisord's exit")
    except TimeoutError:
        os.kill(pid, signal.SIGKILL)
        say(f"supervisord (pid {pid}) did not exit in 60 s: killed")
        return 1
    if not quiet:
        say("down: every process `make up` started has stopped")
    return 0


def status(layout: Layout) -> int:
    """Print each program's state; exit 1 when the topology is not up."""
    if running_pid(layout) is None:
        say("not up")
        return 1
    for info in _proxy(layout).supervisor.getAllProcessInfo():
        name = f"{info['group']}:{info['name']}"
        say(f"{name:<20} {info['statename']:<9} pid {info['pid']:<7} {info['description']}")
    return 0
