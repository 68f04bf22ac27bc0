"""The product's authenticated reads against a hello-world grpc.aio server, measured in one run.

Two servers run side by side as separate processes: a hello-world grpc.aio server on uvloop
(services/common/loop.py, the product's event-loop setup; one unary method, no interceptors)
and the product in production shape: `filmstudio serve --services user,project,credits,jobs`
with FILMSTUDIO_ENV=production, JSON logs at INFO, a throwaway PostgreSQL database and Redis.
A user with a bearer token, 25 projects, the account's credits and a queued job are seeded
through the domain services. Each call is then driven with the same load generator at the same
concurrency: h2load (h2c with gRPC framing) where it is on PATH, otherwise a Python grpc.aio
client (several channels, many calls in flight), which the output says. Rounds alternate the
hello-world server and each product call (GetMe, GetProject, ListProjects with a page of 20,
GetCredits, GetJob), reversing the order every other round. The hello-world server runs before
the first call of a round and again after each call, and each call's ratio is to the mean of
the two hello-world runs around it: the machine is shared and its speed drifts within seconds.

Every answer is checked: h2load sees only HTTP 200, so a run counts the DATA bytes received (a
gRPC error is trailers-only and carries no message: the bytes must be a whole number of good
answers); and the product's own log line for each call names its gRPC code, which must be OK
(CANCELLED allowed for the calls h2load cuts off when time is up). The Python client checks the
status and size of each answer itself.

`--rest` also starts the gateway (`python -m gateway`, reaching the services on their Unix socket,
GRPC_UNIX_SOCKET, as a gateway beside them does) and measures each product call over REST
(h2load --h1, or raw HTTP/1.1 from Python) against the same call over gRPC in the same round:
the REST run comes between two gRPC runs of that call (a hello-world run after each run), and
its ratio is to their mean, as a call's ratio is to the hello-world runs around it. (Dividing
REST's and gRPC's own ratios to hello-world instead would carry four runs' noise, not three.)
With h2load, each run also charges the CPU every process used meanwhile (the servers' from
/proc, h2load's from its rusage) to the calls it answered. The table after the ratios gives the
medians per call and the rate the machine's cores would allow at that cost: over REST the
gateway's CPU adds to the backend's on the same cores, which is what bounds REST's ratio here.
With py-spy installed (`.venv/bin/pip install py-spy`), a flame graph of the backend serving
GetProject (or `--profile CALL`; with `--rest --profile-rest`, of the gateway serving it over
REST) under load is written to the output folder (`--out`, default var/bench/api).

    .venv/bin/python bench/api.py [--seconds 2.5] [--rounds 3] [--concurrency 64] [--rest]
                                  [--python-client] [--out DIR] [--no-profile] [--profile CALL]
                                  [--profile-rest]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "gen")]

import grpc  # noqa: E402
from filmstudio.v1 import (  # noqa: E402
    ai_job_pb2,
    credits_pb2,
    project_pb2,
    user_pb2,
)

from bench.cpu import cpu_seconds  # noqa: E402
from services.common.logs import FLUSH_SECONDS  # noqa: E402

PASSWORD = "bench horse battery staple"
SCRIPT = "INT. STUDIO - NIGHT\nA director watches the numbers.\nDIRECTOR: Again, faster."
HELLO = "/bench.Greeter/SayHello"
HELLO_REPLY = b"\n\x0bHello bench"  # a HelloReply(message="Hello bench")
_COUNTS = r"requests: \d+ total, (\d+) started, (\d+) done, (\d+) succeeded"
GOALS = {"GetProject": 0.5}  # the others: 0.4
REST_GOAL = 0.8


@dataclass
class Call:
    """One RPC to drive: its path, request bytes, REST path, and the size of a good answer."""

    label: str
    path: str
    request: bytes
    rest: str = ""
    grpc_bytes: int = 0  # DATA bytes of one good answer: the 5-byte frame header and message
    rest_bytes: int = 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the servers --------------------------------------------------------------------------


async def serve_hello(port: int) -> None:
    """Serve one unary hello-world method on a bare grpc.aio server until killed."""

    async def say_hello(request: bytes, context: object) -> bytes:
        return HELLO_REPLY

    handler = grpc.method_handlers_generic_handler(
        "bench.Greeter", {"SayHello": grpc.unary_unary_rpc_method_handler(say_hello)}
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"{process.args!r} does not listen on {port}:\n{log.read_text()[-2000:]}")


class Processes:
    """Child processes logging under a folder, stopped in reverse order."""

    def __init__(self, var: Path, env: dict[str, str]) -> None:
        self.var, self.env = var, env
        self.children: list[subprocess.Popen[bytes]] = []

    def start(self, command: list[str], log: str, port: int) -> int:
        with (self.var / log).open("ab") as out:
            process = subprocess.Popen(
                command, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        self.children.append(process)
        wait_listening(process, port, self.var / log)
        return process.pid

    def stop(self) -> None:
        for process in reversed(self.children):
            process.terminate()
            process.wait(timeout=30)


NEVER_DRY = {"per_minute": 1e9, "burst": 1e9}


def studio_env(var: Path, database_url: str, grpc_port: int) -> dict[str, str]:
    """Return the environment of a production deployment on this machine."""
    return {
        "FILMSTUDIO_ENV": "production",
        "FILMSTUDIO_VAR_DIR": str(var),
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "QUEUE_PREFIX": f"bench-api-{secrets.token_hex(4)}",
        "JWT_SECRET": secrets.token_urlsafe(48),
        "GRPC_HOST": "127.0.0.1",
        "GRPC_PORT": str(grpc_port),
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        # Throughput, not rate limits: buckets that never run dry (the check itself still runs).
        "RATE_LIMITS": json.dumps({c: NEVER_DRY for c in ("read", "write", "expensive", "auth")}),
    }


async def seed(env: dict[str, str]) -> tuple[str, list[Call]]:
    """Make a user, 25 projects and a queued job through the domain; return token and calls."""
    from services.ai_job.ai_job_service import AIJobService
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
        user_id = signed_in.user.id
        projects = app.get(ProjectService)
        for n in range(25):
            project = await projects.create_project(
                user_id, f"The benchmark {n}", SCRIPT, style="cinematic", target_duration=90
            )
        job = await app.get(AIJobService).create_job(project.id, user_id, "script_analysis")
    finally:
        await app.close()

    def call(label: str, path: str, request: object, rest: str) -> Call:
        return Call(label, path, request.SerializeToString(), rest)  # type: ignore[attr-defined]

    name = f"projects/{project.id}"
    return signed_in.access_token, [
        call("GetMe", "/filmstudio.v1.UserService/GetMe", user_pb2.GetMeRequest(), "users/me"),
        call(
            "GetProject",
            "/filmstudio.v1.ProjectService/GetProject",
            project_pb2.GetProjectRequest(name=name),
            name,
        ),
        call(
            "ListProjects",
            "/filmstudio.v1.ProjectService/ListProjects",
            project_pb2.ListProjectsRequest(page_size=20),
            "projects?pageSize=20",
        ),
        call(
            "GetCredits",
            "/filmstudio.v1.CreditsService/GetCredits",
            credits_pb2.GetCreditsRequest(name="users/me/credits"),
            "users/me/credits",
        ),
        call(
            "GetJob",
            "/filmstudio.v1.AIJobService/GetJob",
            ai_job_pb2.GetJobRequest(name=f"jobs/{job.id}"),
            f"jobs/{job.id}",
        ),
    ]


# --- load ---------------------------------------------------------------------------------


@dataclass
class Target:
    """Where a call goes and what it carries."""

    port: int
    call: Call
    token: str = ""

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()


@dataclass
class CpuMeter:
    """The CPU each process (and the client, h2load) used per answered call, run by run."""

    pids: dict[str, int]  # server role -> pid: "hello-world", "backend", "gateway"
    per_call: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # label -> role

    def _now(self) -> dict[str, float]:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = {role: cpu_seconds(pid) for role, pid in self.pids.items()}
        return {**used, "client": children.ru_utime + children.ru_stime}

    @contextlib.contextmanager
    def timed(self, label: str, answered: list[int]) -> Iterator[None]:
        """Charge what every process uses meanwhile to `label`, per call in `answered`."""
        before = self._now()
        yield
        after, calls = self._now(), max(sum(answered), 1)
        runs = self.per_call.setdefault(label, {})
        for role, seconds in after.items():
            runs.setdefault(role, []).append((seconds - before[role]) / calls * 1e6)


def h2load_run(
    target: Target,
    rest: bool,
    concurrency: int,
    seconds: float,
    work: Path,
    meter: CpuMeter | None = None,
) -> float:
    """Run h2load against one call after a short warm-up; check the answers; return calls/s."""
    auth = ["-H", f"authorization: Bearer {target.token}"] if target.token else []
    if rest:
        url = f"http://127.0.0.1:{target.port}/v1/{target.call.rest}"
        command = ["h2load", "--h1", "-c", str(concurrency), *auth, url]
        expected = target.call.rest_bytes
    else:
        frame = work / "frame"
        body = target.call.request
        frame.write_bytes(b"\x00" + len(body).to_bytes(4, "big") + body)
        connections = min(4, concurrency)
        command = ["h2load", "-c", str(connections), "-m", str(concurrency // connections)]
        command += ["-d", str(frame), "-H", "content-type: application/grpc", "-H", "te: trailers"]
        command += [*auth, f"http://127.0.0.1:{target.port}{target.call.path}"]
        expected = target.call.grpc_bytes
    subprocess.run([*command, "-D", "0.5"], capture_output=True, check=False)
    timed = ["-D", f"{round(seconds * 1000)}ms"]
    answered: list[int] = []
    label = f"{target.call.label}{' REST' if rest else ''}"
    with meter.timed(label, answered) if meter else contextlib.nullcontext():
        output = subprocess.run([*command, *timed], capture_output=True, text=True).stdout
        counts = re.search(_COUNTS, output)
        answered += [int(counts.group(3))] if counts else []
    found = re.search(r"([\d.]+) req/s", output)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", output)
    data = re.search(r"traffic: .*?\((\d+)\) data", output)
    if found is None or codes is None or counts is None or data is None:
        raise SystemExit(f"h2load {target.call.label} run failed:\n{output[-800:]}")
    started, done, succeeded = (int(n) for n in counts.groups())
    received = int(data.group(1))
    bad = sum(int(n) for n in codes.groups()[1:]) + done - succeeded
    # Each good answer adds its message's bytes; calls cut off at the end may have had theirs.
    if bad or received % expected or not succeeded * expected <= received <= started * expected:
        raise SystemExit(
            f"h2load {target.call.label}: {bad} bad answers, {received} data bytes for "
            f"{succeeded} answers of {expected}:\n{output[-800:]}"
        )
    return float(found.group(1))


async def python_run(target: Target, rest: bool, concurrency: int, seconds: float) -> float:
    """Drive one call from Python (4 grpc.aio channels, or raw HTTP/1.1); return calls/s."""
    loop = asyncio.get_running_loop()
    done = 0
    channels: list[grpc.aio.Channel] = []

    async def grpc_worker(method: grpc.aio.UnaryUnaryMultiCallable, stop_at: float) -> None:
        nonlocal done
        while loop.time() < stop_at:
            answer = await method(target.call.request, metadata=target.metadata)  # raises unless OK
            if 5 + len(answer) != target.call.grpc_bytes:
                raise SystemExit(f"{target.call.label} answered {len(answer)} bytes")
            done += 1

    async def http_worker(stop_at: float) -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", target.port)
        auth = f"Authorization: Bearer {target.token}\r\n" if target.token else ""
        request = f"GET /v1/{target.call.rest} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode()
        while loop.time() < stop_at:
            head, body = await http_call(reader, writer, request)
            if not head.startswith(b"HTTP/1.1 200") or len(body) != target.call.rest_bytes:
                raise SystemExit(f"REST {target.call.label} failed: {head[:80]!r}")
            done += 1
        writer.close()

    if not rest:
        options = [("grpc.use_local_subchannel_pool", 1)]
        address = f"127.0.0.1:{target.port}"
        channels = [grpc.aio.insecure_channel(address, options=options) for _ in range(4)]
        methods = [c.unary_unary(target.call.path) for c in channels]
    for length in (0.5, seconds):  # the first is the warm-up
        done = 0
        stop_at = loop.time() + length
        started = time.perf_counter()
        if rest:
            await asyncio.gather(*(http_worker(stop_at) for _ in range(concurrency)))
        else:
            await asyncio.gather(
                *(grpc_worker(methods[i % 4], stop_at) for i in range(concurrency))
            )
        elapsed = time.perf_counter() - started
    for channel in channels:
        await channel.close()
    return done / elapsed


async def http_call(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[bytes, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: *(\d+)", head)
    return head, await reader.readexactly(int(length.group(1)) if length else 0)


async def reference(target: Target, rest_port: int | None) -> None:
    """Make one call each way, check it, and note the size of a good answer."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{target.port}") as channel:
        answer = await channel.unary_unary(target.call.path)(
            target.call.request, metadata=target.metadata
        )
        target.call.grpc_bytes = 5 + len(answer)
        if target.token:
            try:
                await channel.unary_unary(target.call.path)(target.call.request)
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.UNAUTHENTICATED:
                    raise SystemExit(
                        f"{target.call.label} without a token: {error.code()}"
                    ) from None
            else:
                raise SystemExit(f"{target.call.label} answered without a token: auth is off")
    if rest_port is not None:
        reader, writer = await asyncio.open_connection("127.0.0.1", rest_port)
        auth = f"Authorization: Bearer {target.token}\r\n"
        request = f"GET /v1/{target.call.rest} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode()
        head, body = await http_call(reader, writer, request)
        writer.close()
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"REST {target.call.label}: {head[:80]!r} {body[:300]!r}")
        json.loads(body)
        target.call.rest_bytes = len(body)


def logged_codes(log: Path, offset: int) -> tuple[Counter[str], int]:
    """Return the gRPC codes of the calls the product logged after `offset`, and the new end."""
    with log.open("rb") as lines:
        lines.seek(offset)
        text = lines.read()
    codes: Counter[str] = Counter()
    for line in text.splitlines():
        if b'"rpc finished"' in line:
            entry = json.loads(line)
            codes[f"{entry.get('rpc', '?').rpartition('/')[2]} {entry.get('code')}"] += 1
    return codes, offset + len(text)


async def session_check_costs(env: dict[str, str], token: str, calls: int = 3000) -> str:
    """Time the auth's session check per call, one at a time, on each of its paths.

    The row cache's path (the change feed live, production on PostgreSQL), then those taken
    while the feed is not live: in-process versions, Redis-validated, and the database itself.
    """
    from services.common.config import Settings
    from services.common.db import Database
    from services.common.tokens import ACCESS, TokenCodec, principal_from_claims
    from services.user.session_check import DatabaseSessionCheck

    settings = Settings(**env)  # type: ignore[arg-type]
    database = Database.from_settings(settings)
    # The same database keeping nothing: the paths taken while the change feed is not live.
    uncached = Database(settings.effective_database_url, pool_size=2, cache_bytes=0)
    codec = TokenCodec.from_settings(settings)
    principal = principal_from_claims(codec.decode(token, expected_types=(ACCESS,)))
    prefix = f"{settings.queue_prefix}-check"
    checks = {
        "row cache, change feed live": DatabaseSessionCheck(database),
        "in-process cache only (no Redis)": DatabaseSessionCheck(uncached),
        "cache validated by a Redis GET": DatabaseSessionCheck(
            uncached, redis_url=settings.redis_url, key_prefix=prefix
        ),
        "database lookup (a miss)": DatabaseSessionCheck(uncached, ttl=0),
    }
    costs: dict[str, float] = {}
    try:
        for _ in range(3):  # the first passes warm up (and let the change feed go live)
            for label, check in checks.items():
                started = time.perf_counter()
                for _ in range(calls):
                    if await check.current(principal) is None:
                        raise SystemExit(f"the session check refused the token ({label})")
                costs[label] = (time.perf_counter() - started) / calls * 1e6
        if not database.read_cache_live:
            raise SystemExit("the change feed never went live: the row cache's path was not timed")
    finally:
        for check in checks.values():
            await check.close()
        await database.dispose()
        await uncached.dispose()
    database_cost = costs["database lookup (a miss)"]
    return "session check per call, one at a time:\n" + "\n".join(
        f"  {label:<36}{cost:8.1f} µs  ({cost / database_cost:.2f}x the database lookup)"
        for label, cost in costs.items()
    )


# --- the run ------------------------------------------------------------------------------


def profile(pid: int, out: Path, label: str, stem: str, load: object) -> str:
    """Record py-spy flame graphs of `pid` (`<stem>.svg`, `.folded`) while `load()` runs."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return "py-spy not installed: no profile (.venv/bin/pip install py-spy)"
    out.mkdir(parents=True, exist_ok=True)
    said: list[str] = []
    # One recording per format: the SVG for people, the folded stacks for diffing and grep.
    for name, form in ((f"{stem}.svg", "flamegraph"), (f"{stem}.folded", "raw")):
        path = out / name
        command = [spy, "record", "-p", str(pid), "-d", "6", "-r", "200", "-f", form]
        recorder = subprocess.Popen(
            [*command, "-o", str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        time.sleep(0.5)
        load()  # type: ignore[operator]
        output, _ = recorder.communicate(timeout=60)
        if recorder.returncode != 0 or not path.exists():
            return f"py-spy failed: {output.decode(errors='replace')[-300:]}"
        lines = output.decode(errors="replace").splitlines()
        said += [f"{name}: {line.strip()}" for line in lines if "amples" in line]
    return f"py-spy profiles of {label} under load in {out} ({'; '.join(said)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.5, help="per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rest", action="store_true", help="also REST through the gateway")
    parser.add_argument("--python-client", action="store_true", help="even if h2load is here")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "api")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--profile", default="GetProject", help="the call to profile")
    parser.add_argument(
        "--profile-rest", action="store_true", help="profile the gateway serving it over REST"
    )
    parser.add_argument("--hello-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile_rest and not args.rest:
        parser.error("--profile-rest profiles the gateway: add --rest")
    from services.common.loop import run_on_uvloop

    if args.hello_port:
        run_on_uvloop(serve_hello(args.hello_port))
        return
    from tests.support.database import create_postgres_database, drop_postgres_database

    use_h2load = bool(shutil.which("h2load")) and not args.python_client
    if use_h2load:
        client = "h2load"
    else:
        why = "asked for" if args.python_client else "h2load is not on PATH"
        client = f"Python grpc.aio client, 4 channels ({why})"
    url = create_postgres_database()
    var = Path(tempfile.mkdtemp())
    hello_port, grpc_port, http_port = free_port(), free_port(), free_port()
    env = studio_env(var, url, grpc_port)
    # The gateway beside the services reaches them on their Unix socket, as `make run`'s and
    # `make up`'s do; gRPC clients (h2load) come over TCP, as remote clients do.
    env["GRPC_UNIX_SOCKET"] = str(var / "grpc.sock")
    path = [str(ROOT), str(ROOT / "gen"), os.environ.get("PYTHONPATH")]
    children = Processes(
        var, {**os.environ, **env, "PYTHONPATH": os.pathsep.join(filter(None, path))}
    )
    rows: dict[str, list[float]] = {}  # label -> calls/s per run
    baselines: dict[str, list[float]] = {}  # label -> hello-world calls/s around each run
    grpc_around: dict[str, list[float]] = {}  # REST label -> gRPC calls/s around each REST run
    codes: Counter[str] = Counter()
    notes: list[str] = []
    try:
        hello_pid = children.start(
            [sys.executable, __file__, f"--hello-port={hello_port}"], "hello.log", hello_port
        )
        services = "user,project,credits,jobs"
        serve = [sys.executable, "-m", "services.cli", "serve", "--services", services, "--migrate"]
        backend = children.start(serve, "backend.log", grpc_port)
        gateway_pid = 0
        token, calls = asyncio.run(seed(env))
        if args.rest:
            on_socket = f"unix:{env['GRPC_UNIX_SOCKET']}"
            gateway = [sys.executable, "-m", "gateway", "--backend", on_socket]
            gateway_pid = children.start(
                [*gateway, "--port", str(http_port)], "gateway.log", http_port
            )
        roles = {"hello-world": hello_pid, "backend": backend, "gateway": gateway_pid}
        meter = CpuMeter({role: pid for role, pid in roles.items() if pid})
        hello = Target(hello_port, Call("hello-world", HELLO, b""))
        targets = [hello] + [Target(grpc_port, c, token) for c in calls]
        profiled = next((t for t in targets[1:] if t.call.label == args.profile), None)
        if profiled is None and not args.no_profile:
            names = ", ".join(t.call.label for t in targets[1:])
            raise SystemExit(f"--profile {args.profile}: not a call of this benchmark ({names})")

        async def check_all() -> None:
            for target in targets:
                await reference(target, http_port if args.rest and target.token else None)

        asyncio.run(check_all())
        # The server writes its INFO lines in batches: let the checks' lines land before the mark.
        time.sleep(FLUSH_SECONDS * 4)
        log = var / "backend.log"
        offset = log.stat().st_size
        work = Path(tempfile.mkdtemp())

        def run(target: Target, rest: bool = False) -> float:
            port = http_port if rest else target.port
            aimed = Target(port, target.call, target.token)
            if use_h2load:
                return h2load_run(aimed, rest, args.concurrency, args.seconds, work, meter)
            return asyncio.run(python_run(aimed, rest, args.concurrency, args.seconds))

        products = targets[1:]
        for turn in range(args.rounds):
            order = products if turn % 2 == 0 else products[::-1]
            before = run(hello)
            rows.setdefault(hello.call.label, []).append(before)
            for target in order:
                # Each run's baseline is the mean of the hello-world runs just before and after
                # it; REST runs between two gRPC runs of the call, each followed by hello-world.
                name = target.call.label
                runs = [(name, False)]
                if args.rest:
                    runs += [(f"{name} REST", True), (name, False)]
                for label, rest in runs:
                    rows.setdefault(label, []).append(run(target, rest))
                    after = run(hello)
                    rows[hello.call.label].append(after)
                    baselines.setdefault(label, []).append((before + after) / 2)
                    before = after
                if args.rest:
                    bracket = rows[name][-2:]
                    grpc_around.setdefault(f"{name} REST", []).append(sum(bracket) / 2)
            found, offset = logged_codes(log, offset)
            codes.update(found)
        notes.append(run_on_uvloop(session_check_costs(env, token)))
        if profiled is not None and not args.no_profile:
            call, stem = profiled, args.profile.lower()
            if args.profile_rest:
                label = f"{args.profile} REST (the gateway)"
                load = lambda: run(call, True)  # noqa: E731
                notes.append(profile(gateway_pid, args.out, label, f"{stem}-gateway", load))
            else:
                notes.append(profile(backend, args.out, args.profile, stem, lambda: run(call)))
            offset = logged_codes(log, offset)[1]
    finally:
        children.stop()
        drop_postgres_database(url)
        shutil.rmtree(var, ignore_errors=True)
    report(rows, baselines, grpc_around, codes, client, args, notes)
    if use_h2load:
        report_cpu(meter)


def report_cpu(meter: CpuMeter) -> None:
    """Print each call's CPU per answered call, by process, and the rate the cores allow."""
    cores = os.cpu_count() or 1
    print(
        f"CPU per answered call, µs (medians of the runs; {cores} cores give "
        f"{cores * 1_000_000:,} µs a second, a ceiling on calls/s whatever the client):"
    )
    print(f"{'call':<20}{'server':>9}{'gateway':>9}{'client':>9}{'total':>9}{'ceiling/s':>11}")
    for label, runs in meter.per_call.items():
        median = {role: statistics.median(values) for role, values in runs.items()}
        server = median["hello-world" if label == "hello-world" else "backend"]
        gateway = median.get("gateway", 0.0) if label.endswith(" REST") else 0.0
        total = server + gateway + median["client"]
        shown = f"{gateway:>9.0f}" if gateway else f"{'-':>9}"
        print(
            f"{label:<20}{server:>9.0f}{shown}{median['client']:>9.0f}{total:>9.0f}"
            f"{cores * 1e6 / total:>11.0f}"
        )


def report(
    rows: dict[str, list[float]],
    baselines: dict[str, list[float]],
    grpc_around: dict[str, list[float]],
    codes: Counter[str],
    client: str,
    args: argparse.Namespace,
    notes: list[str],
) -> None:
    """Print each call's rate and its ratio to hello-world (and REST's to gRPC), round by round."""
    bad = {code: n for code, n in codes.items() if not code.endswith((" OK", " CANCELLED"))}
    cancelled = sum(n for code, n in codes.items() if code.endswith(" CANCELLED"))
    hello = rows["hello-world"]
    print(
        f"client: {client}, {args.concurrency} calls in flight, {args.seconds} s a run, "
        f"{args.rounds} rounds; cores: {os.cpu_count()} (servers and client share them)"
    )
    print(f"{'call':<20}{'calls/s':>10}  {'ratio (median; each round)':<40}{'goal':>8}")
    met = True

    def shares(label: str) -> list[float]:
        """Each run's rate over its hello-world baseline (hello-world's own: 1.0)."""
        return [r / b for r, b in zip(rows[label], baselines.get(label, hello), strict=True)]

    for label, rates in rows.items():
        rest = label.endswith(" REST")
        # REST against the mean of the two gRPC runs of the call around it.
        ratios = (
            [r / g for r, g in zip(rates, grpc_around[label], strict=True)]
            if rest
            else shares(label)
        )
        ratio = statistics.median(ratios)
        goal = REST_GOAL if rest else GOALS.get(label, 0.4)
        verdict = (
            ""
            if label == "hello-world"
            else f">= {goal:.2f} {'met' if ratio >= goal else 'NOT met'}"
        )
        met &= label == "hello-world" or ratio >= goal
        against = "vs gRPC" if rest else "vs hello"
        # Hello-world's runs are every call's baselines: a line of 1.00s would say nothing.
        each = "" if label == "hello-world" else ", ".join(f"{r:.2f}" for r in ratios)
        line = f"{label:<20}{statistics.median(rates):>10.0f}  {ratio:.2f} {against}"
        print((f"{line} ({each})" if each else f"{line} (the baseline)").ljust(72) + verdict)
    print(
        f"answers: the product logged {sum(codes.values())} calls: "
        + ", ".join(f"{code} {n}" for code, n in sorted(codes.items()))
    )
    if bad:
        raise SystemExit(f"calls that did not answer OK: {bad}")
    print(f"every answer OK ({cancelled} cut off by the client when time was up)")
    for note in notes:
        print(note)
    print(f"goals: {'all met' if met else 'NOT all met'}")


if __name__ == "__main__":
    main()
