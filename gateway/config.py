"""What a gateway serves and how: backend, descriptors, limits, CORS, streaming."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from google.protobuf import descriptor_pb2, descriptor_pool


@dataclass(frozen=True)
class ResumeRule:
    """How SSE resumes a stream: the request field that takes Last-Event-ID, the event id path."""

    request_field: str
    event_id_field: str


@dataclass(frozen=True)
class GatewayConfig:
    """Everything a Gateway needs; gateway/filmstudio.py builds FilmStudio's from Settings."""

    backend: str
    # Services whose backend is elsewhere (full service name -> target); the rest are at backend.
    routes: Mapping[str, str] = field(default_factory=dict)
    # Full service names to expose; empty means every service with HTTP rules in the descriptors.
    services: tuple[str, ...] = ()
    # Where the descriptors come from: a FileDescriptorSet file, else the given or default pool.
    descriptor_set: Path | None = None
    # The same, already in memory (read from the backend by server reflection).
    file_set: descriptor_pb2.FileDescriptorSet | None = None
    pool: descriptor_pool.DescriptorPool | None = None
    # Include paths of the .proto sources, compiled at start-up for the comments in /openapi.json.
    proto_paths: tuple[Path, ...] = ()
    cors_origins: tuple[str, ...] = ()
    # Peers (IPs or CIDR blocks) whose X-Forwarded-For is extended; anyone else's is replaced.
    trusted_proxies: tuple[str, ...] = ("127.0.0.0/8", "::1")
    max_body_bytes: int = 4 * 1024 * 1024
    # The method option that declares an RPC's largest request message, if any: a route then
    # accepts twice that as JSON (default_request_bytes where unset), never over max_body_bytes.
    request_limit_extension: object | None = None
    default_request_bytes: int = 64 * 1024
    default_timeout_seconds: float = 30.0
    max_timeout_seconds: float = 600.0
    channels: int = 2
    # How unary calls reach the backend: "h2c" (the gateway's lean HTTP/2 client) or "grpcio".
    upstream_client: Literal["h2c", "grpcio"] = "h2c"
    max_message_bytes: int = 8 * 1024 * 1024
    gzip_min_bytes: int = 1024
    sse_keepalive_seconds: float = 15.0
    # How long a stream waits for its first message before answering 200, so that an
    # immediate failure (unauthenticated, not found) still gets its own HTTP status.
    first_message_wait_seconds: float = 0.5
    resume: Mapping[str, ResumeRule] = field(default_factory=dict)
    title: str = "API"
    version: str = "v1"
    description: str = ""
    # Refuse input grpc-gateway ignores (unknown body fields and query keys, query values for
    # fields the path or body binds, any query on a `body: "*"` route, bad Grpc-Metadata-*
    # headers) with a 400 naming it, instead of ignoring it: catches clients' typos.
    strict_input: bool = False
    # Serve unary GETs past the ASGI middleware (gateway/lane.py): the same answers, less work.
    direct_lane: bool = True
    # Answer GET /metrics (Prometheus text, no auth) with this process's metrics.
    metrics: bool = True
    # The method option extension that declares access (public/user/admin/internal), if any.
    access_extension: object | None = None
    # Called with the built Gateway: routes that are not transcoded (raw-body webhooks).
    extensions: tuple[Callable[[Any], None], ...] = ()
