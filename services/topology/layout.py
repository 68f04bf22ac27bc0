"""Where the pieces of `make up` live: ports, directories and the infrastructure to use or start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# A Unix socket's longest path here, as services.common.config's (not imported, as below).
MAX_SOCKET_PATH = 100
# One `filmstudio serve --services KEY` process each (services/bootstrap.py's SERVICES; a unit
# test keeps the two in step, so that `make down` need not import the studio).
SERVICE_KEYS = ("user", "project", "credits", "jobs", "youtube", "admin")
WORKERS = 2
# SeaweedFS needs eight ports: S3 and its gRPC, then master, volume and filer, each with gRPC.
WEED_PORTS = ("s3", "s3.grpc", "master", "master.grpc", "volume", "volume.grpc", "filer",
              "filer.grpc")  # fmt: skip


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a port number, not {value!r}") from None


@dataclass(frozen=True)
class Layout:
    """Every port and path of one `make up`, read from TOPOLOGY_* and the studio's settings."""

    root: Path
    gateway_port: int
    grpc_port: int
    metrics_port: int
    postgres_port: int
    redis_port: int
    s3_port: int
    database: str
    # Set when the environment names them: then they are used as they are, never started.
    database_url: str | None
    redis_url: str | None
    s3_bucket: str | None
    s3_endpoint: str | None
    queue_prefix: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Layout:
        """Read the layout from the environment (TOPOLOGY_DIR, TOPOLOGY_*_PORT, ...)."""
        env = os.environ if env is None else env
        return cls(
            root=Path(env.get("TOPOLOGY_DIR") or "var").absolute(),
            gateway_port=_int(env, "GATEWAY_PORT", 8080),
            grpc_port=_int(env, "TOPOLOGY_GRPC_PORT", 50051),
            metrics_port=_int(env, "TOPOLOGY_METRICS_PORT", 9101),
            postgres_port=_int(env, "TOPOLOGY_POSTGRES_PORT", 5432),
            redis_port=_int(env, "TOPOLOGY_REDIS_PORT", 6379),
            s3_port=_int(env, "TOPOLOGY_S3_PORT", 8333),
            database=env.get("TOPOLOGY_DATABASE") or "filmstudio",
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            s3_bucket=env.get("S3_BUCKET_NAME") or None,
            s3_endpoint=env.get("S3_ENDPOINT_URL") or None,
            queue_prefix=env.get("QUEUE_PREFIX") or "filmstudio",
        )

    @property
    def state(self) -> Path:
        """Return the directory of supervisord's configuration, socket, pid file and secrets."""
        return self.root / "topology"

    @property
    def logs(self) -> Path:
        """Return the directory every process logs to."""
        return self.root / "log"

    @property
    def pidfile(self) -> Path:
        """Return supervisord's pid file: present while the topology is up."""
        return self.state / "supervisord.pid"

    @property
    def config_file(self) -> Path:
        """Return supervisord's generated configuration (mode 600: it holds the secrets)."""
        return self.state / "supervisord.conf"

    @property
    def socket(self) -> Path:
        """Return supervisord's control socket."""
        return self.state / "supervisor.sock"

    def service_port(self, key: str) -> int:
        """Return the gRPC port of one service's process."""
        return self.grpc_port + SERVICE_KEYS.index(key)

    def service_target(self, key: str) -> str:
        """Return HOST:PORT where the other processes reach one service."""
        return f"127.0.0.1:{self.service_port(key)}"

    def service_socket(self, key: str) -> Path | None:
        """Return the Unix socket one service's process also serves on (None: path too long)."""
        path = self.state / f"{key}.sock"
        return path if len(str(path)) <= MAX_SOCKET_PATH else None

    def gateway_target(self, key: str) -> str:
        """Return where the gateway reaches one service: its Unix socket, cheaper than TCP."""
        path = self.service_socket(key)
        return f"unix:{path}" if path is not None else self.service_target(key)

    def service_metrics_port(self, key: str) -> int:
        """Return the METRICS_PORT of one service's process."""
        return self.metrics_port + SERVICE_KEYS.index(key)

    def worker_metrics_port(self, index: int) -> int:
        """Return the METRICS_PORT of worker `index` (from 1)."""
        return self.metrics_port + len(SERVICE_KEYS) + index - 1

    def weed_port(self, name: str) -> int:
        """Return one of SeaweedFS's ports, counted up from the S3 port."""
        return self.s3_port + WEED_PORTS.index(name)

    def bound_ports(self) -> dict[str, int]:
        """Return the ports the studio's own processes listen on, by what listens."""
        ports = {"gateway": self.gateway_port}
        for key in SERVICE_KEYS:
            ports[key] = self.service_port(key)
            ports[f"{key} metrics"] = self.service_metrics_port(key)
        for index in range(1, WORKERS + 1):
            ports[f"worker-{index} metrics"] = self.worker_metrics_port(index)
        return ports
