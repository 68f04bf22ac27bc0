"""GetProject over REST (through the gateway) against direct gRPC, measured in one run.

The goal's measurement is the product's GetProject: `filmstudio serve --services user,project`
in production mode (interceptors, JWT auth checked against live sessions, JSON logs at INFO) on
a throwaway PostgreSQL database, with a user and a project created through the domain services
and the user's bearer token on every call (Authorization header over REST, metadata over gRPC).
Backend, gateway (`python -m gateway`) and load generator are separate processes. Both paths are
driven at the same concurrency for the same time by the same kind of client: h2load (HTTP/1.1 for
REST, h2c with gRPC framing for gRPC), or lean Python clients (raw HTTP/1.1, grpc.aio) where
h2load is missing (`--python-client` runs them as well). A second gateway in front of the same
backend makes its unary calls with grpcio's client (`--upstream-client grpcio`), the baseline of
the gateway's own h2c client, measured in the same rounds ("rest-grpcio" rows). A second group
repeats the runs on a no-op backend (tests/support/faulty.py's FaultyProjects on a bare grpc.aio
server: no interceptors, auth or database) to show what the gateway itself costs.

The machine is shared and noisy, so each comparison runs in rounds, and the ratio and the
added p50 are taken within the round; the goal lines print the median over the rounds and every
round's value. At c=32 each path runs once per round, back to back (gRPC first in even rounds,
REST first in odd ones, so drift cancels). At c=1 a round is a string of short bursts, the paths
alternating burst by burst (in the order of one burst, then reversed), and each path's p50 is
taken over all its bursts in the round: this VM's speed drifts by up to 1.5x within minutes
(a Python loop timed at 190, 284 and 199 ms in one hour), and with runs of three seconds the
two paths of a round could each meet another machine; half-second bursts share the drift.

The c=1 bursts also count the CPU time (user and system, from /proc) that the backend and the
gateway spend per call: steadier than latency on a shared machine, and it shows where a REST
call's time goes (the product's PostgreSQL is not counted).

Every answer is checked: REST by status and body size; gRPC over h2load by the DATA bytes received
(a trailers-only error still says HTTP 200 but carries no message); and, for the product, by the
backend's own log line for each call, which names the call's gRPC code.

    .venv/bin/python bench/gateway.py [--concurrency 32] [--seconds 3] [--rounds 5]
                                 [--bursts 6] [--burst-seconds 0.5] [--backend-processes 1]
                                 [--gateway-processes 1] [--python-client]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "gen")]

import grpc  # noqa: E402
import uvloop  # noqa: E402
from filmstudio.v1 import project_pb2, project_pb2_grpc  # noqa: E402

from services.common.logs import FLUSH_SECONDS  # noqa: E402
from tests.support.studio import free_port  # noqa: E402

RPC = "/filmstudio.v1.ProjectService/GetProject"
PASSWORD = "bench horse battery staple"
SCRIPT = "INT. STUDIO - NIGHT\nA director watches the numbers.\nDIRECTOR: Again, faster."
Row = tuple[float, float, float]
Run = tuple[float, list[float]]  # req/s and each call's latency in seconds


@dataclass
class Target:
    """One backend and the gateway in front of it, what every call carries, and the results."""

    label: str
    grpc_port: int
    http_port: int
    name: str
    token: str = ""
    baseline_http_port: int | None = None  # a gateway on grpcio's client, for "rest-grpcio"
    log: Path | None = None  # the backend's JSON log: a line per call, with its gRPC code
    pids: dict[str, int] = field(default_factory=dict)  # backend ("grpc") and each gateway
    grpc_bytes: int = 0  # DATA bytes of one good gRPC answer (frame header and message)
    rest_bytes: int = 0  # body bytes of one good REST answer
    rows: dict[str, list[Row]] = field(default_factory=dict)  # req/s, p50 ms, p99 ms per round
    checks: list[str] = field(default_factory=list)
    tallies: dict[str, Counter[str]] = field(default_factory=dict)  # what each row's runs saw
    cpu: dict[str, Counter[str]] = field(default_factory=dict)  # c=1 CPU µs and calls per path

    def tally(self, row: str, **counts: int) -> None:
        self.tallies.setdefault(row, Counter()).update(counts)

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    @property
    def kinds(self) -> tuple[str, ...]:
        return ("grpc", "rest", "rest-grpcio") if self.baseline_http_port else ("grpc", "rest")

    def http_port_for(self, kind: str) -> int:
        if kind == "rest-grpcio":
            assert self.baseline_http_port is not None
            return self.baseline_http_port
        return self.http_port

    def http_request(self) -> bytes:
        auth = f"Authorization: Bearer {self.token}\r\n" if self.token else ""
        return f"GET /v1/{self.name} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode()


async def serve_noop_backend(port: int) -> None:
    """Host FaultyProjects on a plain grpc.aio server until killed."""
    from grpc_reflection.v1alpha import reflection

    from tests.support.faulty import FaultyProjects

    server = grpc.aio.server()
    project_pb2_grpc.add_ProjectServiceServicer_to_server(FaultyProjects(), server)
    # `python -m gateway --backend` without a descriptor set asks the backend by reflection;
    # seeing FilmStudio's ProjectService, it takes FilmStudio's binding.
    names = ("filmstudio.v1.ProjectService", reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


NEVER_DRY = {"per_minute": 1e9, "burst": 1e9}


def studio_env(var: Path, database_url: str, grpc_port: int) -> dict[str, str]:
    """Return the environment of a production deployment on this machine."""
    return {
        "FILMSTUDIO_ENV": "production",
        "FILMSTUDIO_VAR_DIR": str(var),
        "DATABASE_URL": database_url,
        "JWT_SECRET": secrets.token_urlsafe(48),
        "GRPC_HOST": "127.0.0.1",
        "GRPC_PORT": str(grpc_port),
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        # Throughput, not rate limits: buckets that never run dry (the check itself still runs).
        "RATE_LIMITS": json.dumps({c: NEVER_DRY for c in ("read", "write", "expensive", "auth")}),
    }


async def seed(env: dict[str, str]) -> tuple[str, str]:
    """Register a user and create a project through the domain; return token and project name."""
    from services.bootstrap import build_app
    from services.common.config import Settings
    from services.project.project_service import ProjectService
    from services.user.user_service import UserService

    app = build_app(Settings(**env))  # type: ignore[arg-type]
    try:
        users = app.get(UserService)
        email = "director@bench.example.com"
        await users.register_user(email=email, password=PASSWORD, first_name="Bench")
        signed_in = await users.login(email=email, password=PASSWORD)
        project = await app.get(ProjectService).create_project(
            signed_in.user.id, "The benchmark", SCRIPT, style="cinematic", target_duration=90
        )
    finally:
        await app.close()
    return signed_in.access_token, f"projects/{project.id}"


def logged_codes(log: Path, offset: int) -> tuple[Counter[str], int]:
    """Return the gRPC codes of the GetProject calls the backend logged after `offset`."""
    with log.open("rb") as lines:
        lines.seek(offset)
        text = lines.read()
    codes: Counter[str] = Counter()
    for line in text.splitlines():
        if b'"rpc finished"' in line and (entry := json.loads(line)).get("rpc") == RPC:
            codes[entry["code"]] += 1
    return codes, offset + len(text)


# --- clients --------------------------------------------------------------------------------


async def http_call(reader: Any, writer: Any, request: bytes) -> tuple[bytes, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    return head, await reader.readexactly(length)


async def http_worker(target: Target, port: int, stop_at: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = target.http_request()
    loop = asyncio.get_running_loop()
    while loop.time() < stop_at:
        started = time.perf_counter()
        head, body = await http_call(reader, writer, request)
        if not head.startswith(b"HTTP/1.1 200") or len(body) != target.rest_bytes:
            raise SystemExit(f"REST call failed: {head[:80]!r} {body[:200]!r}")
        latencies.append(time.perf_counter() - started)
    writer.close()


async def grpc_worker(target: Target, stub: Any, stop_at: float, latencies: list[float]) -> None:
    request = project_pb2.GetProjectRequest(name=target.name)
    loop = asyncio.get_running_loop()
    while loop.time() < stop_at:
        started = time.perf_counter()
        await stub.GetProject(request, metadata=target.metadata)  # raises unless OK
        latencies.append(time.perf_counter() - started)


async def python_load(kind: str, target: Target, concurrency: int, seconds: float) -> Run:
    """Run `concurrency` closed-loop clients for `seconds` after a warm-up; return the run."""
    options = [("grpc.use_local_subchannel_pool", 1)]
    address = f"127.0.0.1:{target.grpc_port}"
    channels = [grpc.aio.insecure_channel(address, options=options) for _ in range(2)]
    stubs = [project_pb2_grpc.ProjectServiceStub(c) for c in channels]
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    for length in (min(1.0, seconds / 2), seconds):  # the first is the warm-up
        latencies = []
        stop_at = loop.time() + length
        workers = [
            grpc_worker(target, stubs[i % 2], stop_at, latencies)
            if kind == "grpc"
            else http_worker(target, target.http_port_for(kind), stop_at, latencies)
            for i in range(concurrency)
        ]
        await asyncio.gather(*workers)
    for channel in channels:
        await channel.close()
    target.tally(f"{kind} c={concurrency} (python client)", **{"answers 2xx": len(latencies)})
    return len(latencies) / seconds, latencies


def h2load_command(kind: str, target: Target, concurrency: int, workdir: Path) -> list[str]:
    """Return the h2load command line for one path, its request body written under `workdir`."""
    auth = ["-H", f"authorization: Bearer {target.token}"] if target.token else []
    if kind != "grpc":
        url = f"http://127.0.0.1:{target.http_port_for(kind)}/v1/{target.name}"
        return ["h2load", "--h1", "-c", str(concurrency), *auth, url]
    body = project_pb2.GetProjectRequest(name=target.name).SerializeToString()
    (workdir / "frame").write_bytes(b"\x00" + len(body).to_bytes(4, "big") + body)
    # 4 connections x streams each = the same concurrency as REST's connections.
    connections = min(4, concurrency)
    command = ["h2load", "-c", str(connections), "-m", str(concurrency // connections)]
    command += ["-d", str(workdir / "frame"), "-H", "content-type: application/grpc"]
    return [*command, "-H", "te: trailers", *auth, f"http://127.0.0.1:{target.grpc_port}{RPC}"]


def h2load(
    kind: str, target: Target, concurrency: int, seconds: float, warm_up: bool = True
) -> Run:
    """Run h2load on one path, after a warm-up run unless told not to; check every answer.

    The warm-up is a run of its own: --warm-up-time resets h2load's request counts but not its
    byte counts, and the check needs both from the same interval.
    """
    workdir = Path(tempfile.mkdtemp())
    command = h2load_command(kind, target, concurrency, workdir)
    expected = target.rest_bytes if kind != "grpc" else target.grpc_bytes
    if warm_up:
        subprocess.run([*command, "-D", "1"], capture_output=True, check=False)
    timed = ["-D", f"{round(seconds * 1000)}ms", "--log-file", str(workdir / "log")]
    output = subprocess.run([*command, *timed], capture_output=True, text=True).stdout
    found = re.search(r"([\d.]+) req/s", output)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", output)
    counts = re.search(r"requests: \d+ total, (\d+) started, (\d+) done, (\d+) succeeded", output)
    data = re.search(r"traffic: .*?\((\d+)\) data", output)
    if found is None or codes is None or counts is None or data is None:
        raise SystemExit(f"h2load {kind} run failed:\n{output[-800:]}")
    started, done, succeeded = (int(n) for n in counts.groups())
    received = int(data.group(1))
    bad = sum(int(n) for n in codes.groups()[1:]) + done - succeeded
    # A gRPC error is trailers-only (HTTP 200, no DATA), so each good answer adds its message's
    # bytes; calls cut off when time is up may have received theirs without being done.
    if bad or received % expected or not succeeded * expected <= received <= started * expected:
        raise SystemExit(
            f"h2load {kind}: {bad} bad answers, {received} data bytes for {succeeded} answers "
            f"of {expected}:\n{output[-800:]}"
        )
    rows = (workdir / "log").read_text().splitlines()
    shutil.rmtree(workdir)
    row = f"{kind} c={concurrency} (h2load)"
    each = f"answers 2xx of {expected} data bytes each"
    target.tally(row, runs=1, cut_off=received // expected - succeeded, **{each: succeeded})
    return float(found.group(1)), [int(r.split("\t")[2]) / 1e6 for r in rows]


def percentiles(latencies: list[float]) -> tuple[float, float]:
    """Return p50 and p99 in milliseconds."""
    ordered = sorted(latencies)
    return statistics.median(ordered) * 1000, ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """Return, per name, the CPU time (user and system) a process and its children have used."""
    ticks = dict.fromkeys(pids, 0)
    owners = {str(pid): name for name, pid in pids.items()}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone while we looked
        # After the command name: state, ppid, ..., utime and stime are the 12th and 13th.
        owner = owners.get(stat.parent.name) or owners.get(fields[1])
        if owner is not None:
            ticks[owner] += int(fields[11]) + int(fields[12])
    return {name: count / os.sysconf("SC_CLK_TCK") for name, count in ticks.items()}


# --- one group of runs ----------------------------------------------------------------------


async def reference_answers(target: Target) -> None:
    """Make one call each way, check it, and note the size of a good answer."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{target.grpc_port}") as channel:
        stub = project_pb2_grpc.ProjectServiceStub(channel)
        request = project_pb2.GetProjectRequest(name=target.name)
        response = await stub.GetProject(request, metadata=target.metadata)
        target.grpc_bytes = 5 + response.ByteSize()
        if target.token:
            try:
                await stub.GetProject(request)
            except grpc.aio.AioRpcError as error:
                target.checks.append(f"gRPC without the token: {error.code().name}")
            else:
                raise SystemExit("GetProject answered without a token: auth is not on")
            target.checks.append(f"gRPC with the token: OK, title {response.project.title!r}")
    for kind in target.kinds[1:]:
        reader, writer = await asyncio.open_connection("127.0.0.1", target.http_port_for(kind))
        head, body = await http_call(reader, writer, target.http_request())
        writer.close()
        if not head.startswith(b"HTTP/1.1 200") or json.loads(body)["name"] != target.name:
            raise SystemExit(f"REST GetProject ({kind}) failed: {head[:80]!r} {body[:300]!r}")
        if target.rest_bytes not in (0, len(body)):
            raise SystemExit(f"{kind} answered {len(body)} bytes, not {target.rest_bytes}")
        target.rest_bytes = len(body)


async def measure(target: Target, args: argparse.Namespace) -> None:
    """Run every row on every path, round by round; check the backend's log of each run."""
    await reference_answers(target)
    await asyncio.sleep(FLUSH_SECONDS * 4)  # the reference calls' lines land before the mark
    offset = target.log.stat().st_size if target.log else 0
    clients = ("h2load",) if shutil.which("h2load") else ()
    clients += ("python client",) if args.python_client or not clients else ()

    async def load(client: str, kind: str, level: int, seconds: float, warm_up: bool) -> Run:
        nonlocal offset
        if client == "h2load":
            run = await asyncio.to_thread(h2load, kind, target, level, seconds, warm_up)
        else:
            run = await python_load(kind, target, level, seconds)
        if target.log is not None:
            offset = check_log(target, f"{kind} c={level} ({client})", level, offset)
        return run

    for turn in range(args.rounds):
        # Reversed every other round, so that drift on the machine favours no path.
        kinds = target.kinds if turn % 2 == 0 else target.kinds[::-1]
        for client in clients:
            for kind in kinds:
                rate, latencies = await load(client, kind, args.concurrency, args.seconds, True)
                row = f"{kind} c={args.concurrency} ({client})"
                target.rows.setdefault(row, []).append((rate, *percentiles(latencies)))
    for client in clients:
        for kind in target.kinds:
            await load(client, kind, 1, 1.0, False)  # the warm-up of all the bursts
        for turn in range(args.rounds):
            runs: dict[str, list[Run]] = {kind: [] for kind in target.kinds}
            for burst in range(args.bursts):
                order = target.kinds if (turn + burst) % 2 == 0 else target.kinds[::-1]
                for kind in order:
                    used = cpu_used(target, kind)
                    runs[kind].append(run := await load(client, kind, 1, args.burst_seconds, False))
                    if client == "h2load":  # the Python clients run in this process
                        target.cpu.setdefault(kind, Counter()).update(
                            calls=len(run[1]), **{k: round(v * 1e6) for k, v in used().items()}
                        )
            for kind, made in runs.items():
                rate = statistics.mean(run[0] for run in made)
                pooled = [latency for run in made for latency in run[1]]
                target.rows.setdefault(f"{kind} c=1 ({client})", []).append(
                    (rate, *percentiles(pooled))
                )


def cpu_used(target: Target, kind: str) -> Callable[[], dict[str, float]]:
    """Start counting the CPU the backend and the path's gateway use; call the result to stop."""
    pids = {"backend": target.pids["grpc"]}
    if kind != "grpc":
        pids["gateway"] = target.pids[kind]
    before = cpu_seconds(pids)
    return lambda: {name: now - before[name] for name, now in cpu_seconds(pids).items()}


def check_log(target: Target, row: str, level: int, offset: int) -> int:
    """Check that the backend logged only OK for the run just made; return the new offset."""
    assert target.log is not None
    time.sleep(FLUSH_SECONDS * 4)  # the backend writes its INFO lines in batches
    codes, offset = logged_codes(target.log, offset)
    # h2load resets the streams still open when its time is up (warm-up and run).
    cancelled = codes.pop("CANCELLED", 0)
    if set(codes) != {"OK"} or cancelled > 2 * level:
        raise SystemExit(f"the backend logged {dict(codes)} for {row}")
    target.tally(row, logged_ok=codes["OK"], logged_cancelled=cancelled)
    return offset


def ratios(
    target: Target, concurrency: int, client: str, rest_kind: str = "rest"
) -> tuple[list[float], list[float]] | None:
    """Return, per round, the REST/gRPC throughput ratio and the p50 REST adds at c=1."""
    rows = target.rows
    rest, grpc_, rest_1, grpc_1 = (
        f"{kind} c={level} ({client})" for level in (concurrency, 1) for kind in (rest_kind, "grpc")
    )
    if not all(name in rows for name in (rest, grpc_, rest_1, grpc_1)):
        return None
    throughput = [r[0] / g[0] for r, g in zip(rows[rest], rows[grpc_], strict=True)]
    added = [r[1] - g[1] for r, g in zip(rows[rest_1], rows[grpc_1], strict=True)]
    return throughput, added


def spread(values: list[float], digits: int) -> str:
    """Render the median of the rounds and each round's value."""
    each = ", ".join(f"{v:.{digits}f}" for v in values)
    return f"{statistics.median(values):.{digits}f} (rounds: {each})"


def print_group(target: Target, concurrency: int) -> None:
    print(target.label)
    print(f"  {'run (median of the rounds)':36} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, runs in target.rows.items():
        rate, p50, p99 = (statistics.median(column) for column in zip(*runs, strict=True))
        print(f"  {name:36} {rate:9.0f} {p50:8.3f} {p99:8.3f}")
    for kind, used in target.cpu.items():
        shares = ", ".join(
            f"{name} {used[name] / used['calls']:.0f}"
            for name in ("backend", "gateway")
            if name in used
        )
        print(f"  CPU per call at c=1, {kind}: {shares} µs (over {used['calls']} calls)")
    for client in ("h2load", "python client"):
        for kind in target.kinds[1:]:
            if found := ratios(target, concurrency, client, kind):
                print(
                    f"  {client}, {kind}: throughput ratio REST/gRPC at c={concurrency} "
                    f"{spread(found[0], 2)}; added p50 at c=1 {spread(found[1], 3)} ms"
                )
    print("  checks:")
    for check in target.checks:
        print(f"    {check}")
    for row, seen in target.tallies.items():
        print(f"    {row}: {describe(seen)}")
    print()


def describe(seen: Counter[str]) -> str:
    """Render what one row's runs saw: answers, their sizes, and the backend's log of them."""
    parts = [f"{seen['runs']} runs"] if seen["runs"] else []
    parts += [f"{n} {key}" for key, n in seen.items() if key.startswith("answers")]
    if seen["cut_off"]:
        parts.append(f"+{seen['cut_off']} cut off at the end")
    if "logged_ok" in seen:
        parts.append(
            f"the backend logged {seen['logged_ok']} OK (warm-ups included) and "
            f"{seen['logged_cancelled']} cancelled by the client at the end, no other code"
        )
    return "; ".join(parts)


def print_goal(target: Target, concurrency: int) -> None:
    client = "h2load" if ratios(target, concurrency, "h2load") else "python client"
    throughput, added = ratios(target, concurrency, client)  # type: ignore[misc]
    ratio, extra = statistics.median(throughput), statistics.median(added)
    print("GOAL of issue #11, measured on the product's GetProject (first group above):")
    print(
        f"  throughput ratio REST/gRPC, {client}, c={concurrency}: {spread(throughput, 2)}  "
        f"(goal >= 0.80: {'met' if ratio >= 0.8 else 'NOT met'})"
    )
    print(
        f"  added p50 latency at c=1, {client}: {spread(added, 3)} ms  "
        f"(goal < 1 ms: {'met' if extra < 1 else 'NOT met'})"
    )
    if baseline := ratios(target, concurrency, client, "rest-grpcio"):
        print(
            "  the same through a gateway on grpcio's client (the baseline of h2c): throughput "
            f"ratio {spread(baseline[0], 2)}; added p50 {spread(baseline[1], 3)} ms"
        )
        saved = [b - a for a, b in zip(added, baseline[1], strict=True)]
        print(f"  p50 that h2c saves against grpcio's client at c=1: {spread(saved, 3)} ms")
    print(f"cores: {os.cpu_count()} (backend, gateway and load generator share them)")


# --- processes ------------------------------------------------------------------------------


class Stack:
    """A backend and a gateway in front of it, as separate processes, logging under `var`."""

    def __init__(self, var: Path, env: dict[str, str]) -> None:
        self.var, self.env = var, env
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, command: list[str], log: str, port: int) -> int:
        with (self.var / log).open("ab") as out:
            process = subprocess.Popen(
                command, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        self.processes.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return process.pid
            time.sleep(0.05)
        tail = (self.var / log).read_text()[-2000:]
        raise SystemExit(f"{' '.join(command[:4])}... does not listen on {port}:\n{tail}")

    def start_gateway(
        self, grpc_port: int, http_port: int, processes: int = 1, client: str = "h2c"
    ) -> int:
        backend = f"127.0.0.1:{grpc_port}"
        gateway = [sys.executable, "-m", "gateway", "--backend", backend, "--port", str(http_port)]
        gateway += [f"--processes={processes}", f"--upstream-client={client}"]
        return self.start(gateway, f"gateway-{http_port}.log", http_port)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
            process.wait(timeout=30)


def base_env() -> dict[str, str]:
    path = [str(ROOT), str(ROOT / "gen"), os.environ.get("PYTHONPATH")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))}


def run_product(args: argparse.Namespace, var: Path) -> Target:
    """Serve the real studio and its gateway, seed an account, and measure."""
    from tests.support.database import create_postgres_database, drop_postgres_database

    url = create_postgres_database()
    grpc_port, http_port, baseline_port = free_port(), free_port(), free_port()
    studio = studio_env(var, url, grpc_port)
    stack = Stack(var, {**base_env(), **studio})
    serve = [sys.executable, "-m", "services.cli", "serve", "--services", "user,project"]
    try:
        serve += ["--migrate", f"--processes={args.backend_processes}"]
        pids = {"grpc": stack.start(serve, "backend.log", grpc_port)}
        token, name = asyncio.run(seed(studio))
        pids["rest"] = stack.start_gateway(grpc_port, http_port, args.gateway_processes)
        pids["rest-grpcio"] = stack.start_gateway(
            grpc_port, baseline_port, args.gateway_processes, "grpcio"
        )
        label = (
            "GetProject, the product: filmstudio serve --services user,project "
            f"(--processes {args.backend_processes}, production settings, PostgreSQL), "
            f"gateway --processes {args.gateway_processes}, "
            "bearer token on every call"
        )
        target = Target(
            label, grpc_port, http_port, name, token, baseline_port, var / "backend.log", pids
        )
        uvloop.run(measure(target, args))
    finally:
        stack.stop()
        drop_postgres_database(url)
    return target


def run_noop(args: argparse.Namespace, var: Path) -> Target:
    """Serve FaultyProjects on a bare server and a gateway in front of it, and measure."""
    grpc_port, http_port, baseline_port = free_port(), free_port(), free_port()
    stack = Stack(var, {**base_env(), "LOG_LEVEL": "WARNING"})
    try:
        backend = [sys.executable, __file__, f"--noop-backend-port={grpc_port}"]
        pids = {"grpc": stack.start(backend, "noop.log", grpc_port)}
        pids["rest"] = stack.start_gateway(grpc_port, http_port)
        pids["rest-grpcio"] = stack.start_gateway(grpc_port, baseline_port, client="grpcio")
        label = (
            "gateway overhead on a no-op backend: FaultyProjects on a bare grpc.aio server "
            "(no interceptors, auth or database)"
        )
        target = Target(
            label, grpc_port, http_port, "projects/bench", "", baseline_port, None, pids
        )
        uvloop.run(measure(target, args))
    finally:
        stack.stop()
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=3.0, help="per run")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each path, alternated")
    parser.add_argument("--bursts", type=int, default=6, help="per path in each round at c=1")
    parser.add_argument("--burst-seconds", type=float, default=0.5, help="per burst at c=1")
    parser.add_argument(
        "--python-client", action="store_true", help="also load with the Python clients"
    )
    parser.add_argument("--backend-processes", type=int, default=1, help="filmstudio serve's")
    parser.add_argument("--gateway-processes", type=int, default=1, help="filmstudio gateway's")
    parser.add_argument("--noop-backend-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.noop_backend_port:
        uvloop.run(serve_noop_backend(args.noop_backend_port))
        return
    with tempfile.TemporaryDirectory() as var:
        product = run_product(args, Path(var))
        noop = run_noop(args, Path(var))
    print_group(product, args.concurrency)
    print_group(noop, args.concurrency)
    print_goal(product, args.concurrency)


if __name__ == "__main__":
    main()
