"""One generation's trace: the gateway, the jobs service and an RQ worker, each its own process.

A small OTLP/HTTP receiver on 127.0.0.1 stands in for the collector; every process exports to
it (OTEL_EXPORTER_OTLP_ENDPOINT), batches flushed every 100 ms (OTEL_BSP_SCHEDULE_DELAY).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.support.studio import TEST_JWT_SECRET, free_port
from tests.support.workers import FILMSTUDIO, REDIS_URL, redis_prefix

PASSWORD = "a long passphrase for traces"
SCRIPT = "Title: Traces\n\nINT. GARAGE - DAY\n\nBRICK\nWho followed me here?\n"


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, object]


class Receiver:
    """An OTLP/HTTP collector of spans: POST /v1/traces, protobuf."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.lock = threading.Lock()
        spans, lock = self.spans, self.lock

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path != "/v1/traces" or self.headers.get("Content-Encoding"):
                    self.send_response(400)
                    self.end_headers()
                    return
                request = ExportTraceServiceRequest.FromString(body)
                found = []
                for resource in request.resource_spans:
                    service = next(
                        a.value.string_value
                        for a in resource.resource.attributes
                        if a.key == "service.name"
                    )
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            attributes: dict[str, object] = {
                                a.key: a.value.string_value or a.value.int_value
                                for a in span.attributes
                            }
                            found.append(
                                Span(
                                    service,
                                    span.name,
                                    span.trace_id.hex(),
                                    span.span_id.hex(),
                                    span.parent_span_id.hex(),
                                    attributes,
                                )
                            )
                with lock:
                    spans.extend(found)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def snapshot(self) -> list[Span]:
        with self.lock:
            return list(self.spans)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def _processes(tmp_path: Path, postgres_url: str, collector: str) -> Iterator[str]:
    """Start `serve` (PostgreSQL, Redis queues), a `worker` and a `gateway`; yield its URL."""
    backend_port, gateway_port = free_port(), free_port()
    while gateway_port == backend_port:
        gateway_port = free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    with redis_prefix("traces") as prefix:
        env = {
            **os.environ,
            "FILMSTUDIO_ENV": "test",
            "FILMSTUDIO_VAR_DIR": str(tmp_path / "var"),
            "JWT_SECRET": TEST_JWT_SECRET,
            "DATABASE_URL": postgres_url,
            "REDIS_URL": REDIS_URL,
            "QUEUE_PREFIX": prefix,
            "WORKER_CONCURRENCY": "0",
            "GRPC_PORT": str(backend_port),
            "JOBS_SERVICE_ADDR": f"127.0.0.1:{backend_port}",
            "BCRYPT_ROUNDS": "4",
            "HEARTBEAT_INTERVAL": "0.2",
            "LOG_FORMAT": "json",
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        for name in ("S3_BUCKET_NAME", "S3_ENDPOINT_URL", "OTEL_SERVICE_NAME"):
            env.pop(name, None)
        commands = {
            "serve": ["serve", "--migrate"],
            "worker": ["worker"],
            "gateway": ["gateway", "--backend", f"127.0.0.1:{backend_port}"],
        }
        started: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for name, command in commands.items():
                with (logs / f"{name}.log").open("wb") as out:
                    started[name] = subprocess.Popen(
                        [
                            FILMSTUDIO,
                            *command,
                            *(["--port", str(gateway_port)] * (name == "gateway")),
                        ],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
            yield f"http://127.0.0.1:{gateway_port}"
        finally:
            for process in started.values():
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in started.values():
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def _until_ready(client: httpx.Client, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        with contextlib.suppress(httpx.TransportError):
            if client.get("/readyz").status_code == 200:
                return
        assert time.monotonic() < deadline, "the gateway and its backend did not come up"
        time.sleep(0.2)


def _generate(client: httpx.Client) -> str:
    """Sign up, make a project, run a script analysis to its end; return the job's name."""
    email = f"traces-{secrets.token_hex(4)}@example.com"
    body = {"email": email, "password": PASSWORD}
    assert client.post("/v1/users:register", json=body).status_code == 200
    login = client.post("/v1/auth:login", json=body)
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['tokens']['accessToken']}"}
    project = {"title": "Traces", "script": SCRIPT, "targetDurationSeconds": 30}
    made = client.post("/v1/projects", json=project, headers=auth)
    assert made.status_code == 200, made.text
    job = {"project": made.json()["name"], "jobType": "JOB_TYPE_SCRIPT_ANALYSIS"}
    queued = client.post("/v1/jobs", json=job, headers=auth)
    assert queued.status_code == 200, queued.text
    name = str(queued.json()["name"])
    deadline = time.monotonic() + 60
    while True:
        found = client.get(f"/v1/{name}", headers=auth).json()
        if found["status"] in ("JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED"):
            break
        assert time.monotonic() < deadline, f"job still {found['status']}"
        time.sleep(0.2)
    assert found["status"] == "JOB_STATUS_SUCCEEDED", found
    return name


def _generation_trace(spans: list[Span]) -> list[Span] | None:
    """Return the spans of the trace that holds the worker's job span, once it is complete."""
    jobs = [span for span in spans if span.name == "job" and span.service == "filmstudio-worker"]
    for job in jobs:
        trace = [span for span in spans if span.trace_id == job.trace_id]
        names = {(span.service, span.name) for span in trace}
        wanted = {
            ("filmstudio-gateway", "POST /v1/jobs"),
            ("filmstudio-serve", "filmstudio.v1.AIJobService/CreateJob"),
            ("filmstudio-serve", "filmstudio.v1.AIJobService/UpdateJobResult"),
        }
        stages = any(name.startswith("stage ") for _, name in names)
        if wanted <= names and stages:
            return trace
    return None


def test_a_generation_is_one_trace_through_gateway_jobs_service_and_worker(
    tmp_path, postgres_url
) -> None:
    receiver = Receiver()
    try:
        with _processes(tmp_path, postgres_url, receiver.url) as base:
            with httpx.Client(base_url=base, timeout=30) as client:
                _until_ready(client, within=60)
                _generate(client)
            deadline = time.monotonic() + 15
            while (trace := _generation_trace(receiver.snapshot())) is None:
                assert time.monotonic() < deadline, sorted(
                    {(s.service, s.name) for s in receiver.snapshot()}
                )
                time.sleep(0.2)
    finally:
        receiver.close()
    by_id = {span.span_id: span for span in trace}

    def one(service: str, name: str) -> Span:
        found = [span for span in trace if span.service == service and span.name == name]
        assert len(found) == 1, (service, name, found)
        return found[0]

    http = one("filmstudio-gateway", "POST /v1/jobs")
    create = one("filmstudio-serve", "filmstudio.v1.AIJobService/CreateJob")
    job = one("filmstudio-worker", "job")
    # The gateway's request is the root; the service's call its child; the job continues the
    # call that enqueued it; every stage and every call back from the worker is the job's child.
    assert http.parent_id == ""
    assert create.parent_id == http.span_id
    assert job.parent_id == create.span_id
    assert create.attributes["rpc.grpc.status_code"] == 0
    stages = [span for span in trace if span.name.startswith("stage ")]
    assert stages
    assert all(span.parent_id == job.span_id for span in stages)
    assert all(span.service == "filmstudio-worker" for span in stages)
    callbacks = [
        span for span in trace if span.service == "filmstudio-serve" and span is not create
    ]
    names = {span.name for span in callbacks}
    assert "filmstudio.v1.AIJobService/UpdateJobStatus" in names  # the claim
    assert "filmstudio.v1.AIJobService/UpdateJobResult" in names
    assert all(span.parent_id == job.span_id for span in callbacks), callbacks
    assert all(span.parent_id in by_id or span is http for span in trace)
    # The service's log lines of the call carry its trace id.
    serve_log = (tmp_path / "logs" / "serve.log").read_text()
    assert f'"trace_id": "{http.trace_id}"' in serve_log
