"""POST /app/artifact: a job's or project's file for its owner, from the gateway's own origin.

A <track> must come from the page's origin, and an embedded studio's download URLs are file://
paths on its own disk: the gateway asks the backend (with the caller's token, so the backend
decides who may see what) for the artifact and relays its bytes.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import grpc
from filmstudio.v1 import ai_job_pb2, ai_job_pb2_grpc, project_pb2, project_pb2_grpc

from gateway.asgi import Receive, Scope, Send, header, read_body
from gateway.errors import GatewayError
from gateway.studio_web.http import (
    MAX_BODY_BYTES,
    SECURITY_HEADERS,
    Backend,
    call_metadata,
    parse,
    require_json,
    send_rpc_error,
)

ARTIFACT = "/app/artifact"
CHUNK = 256 * 1024
DEADLINE_SECONDS = 30


class ArtifactRoute:
    """Relay one artifact, found by job or project and kind."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer with the artifact's bytes and content type."""
        require_json(scope)
        body = parse(await read_body(scope, receive, MAX_BODY_BYTES))
        kind, owner = body.get("kind"), body.get("job") or body.get("project")
        if not isinstance(kind, str) or not isinstance(owner, str):
            raise GatewayError(grpc.StatusCode.INVALID_ARGUMENT, "send a kind and a job or project")
        authorization = (header(scope, b"authorization") or b"").decode("latin-1")
        metadata = call_metadata(scope, authorization or None)
        try:
            artifacts = await self._artifacts(owner, metadata)
        except grpc.aio.AioRpcError as error:
            await send_rpc_error(send, error)
            return
        found = next((item for item in artifacts if item.kind == kind), None)
        if found is None:
            raise GatewayError(grpc.StatusCode.NOT_FOUND, f"{owner} has no {kind}")
        await _relay(found, send)

    async def _artifacts(self, owner: str, metadata: list[tuple[str, str]]) -> Any:
        channel = self.backend.channel
        if owner.startswith("jobs/"):
            jobs: Any = ai_job_pb2_grpc.AIJobServiceStub(channel)
            request: Any = ai_job_pb2.GetJobRequest(name=owner)
            answer = await jobs.GetJob(request, metadata=metadata, timeout=DEADLINE_SECONDS)
            return answer.job.artifacts
        projects: Any = project_pb2_grpc.ProjectServiceStub(channel)
        request = project_pb2.GetProjectRequest(name=owner)
        answer = await projects.GetProject(request, metadata=metadata, timeout=DEADLINE_SECONDS)
        return answer.project.artifacts


async def _relay(artifact: Any, send: Send) -> None:
    url = urlparse(artifact.download_url)
    name = artifact.key.rsplit("/", 1)[-1]
    headers = [
        (b"content-type", (artifact.content_type or "application/octet-stream").encode()),
        (b"content-disposition", f'inline; filename="{name}"'.encode("latin-1", "replace")),
        *SECURITY_HEADERS,
    ]
    if url.scheme == "file":
        await _send_file(Path(unquote(url.path)), headers, send)
    elif url.scheme in ("http", "https"):
        await _send_remote(artifact.download_url, headers, send)
    else:
        raise GatewayError(grpc.StatusCode.NOT_FOUND, f"{artifact.key} cannot be downloaded")


async def _send_file(path: Path, headers: list[tuple[bytes, bytes]], send: Send) -> None:
    try:
        handle = path.open("rb")
    except OSError:
        raise GatewayError(grpc.StatusCode.NOT_FOUND, "the file is not on this machine") from None
    with handle:
        size = os.fstat(handle.fileno()).st_size
        headers.append((b"content-length", str(size).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        # Read off the event loop: a slow disk must not stall every other request.
        while chunk := await asyncio.to_thread(handle.read, CHUNK):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def _send_remote(url: str, headers: list[tuple[bytes, bytes]], send: Send) -> None:
    import httpx  # object storage (S3): only then

    async with httpx.AsyncClient(timeout=60) as client, client.stream("GET", url) as answer:
        if answer.status_code != 200:
            raise GatewayError(grpc.StatusCode.UNAVAILABLE, "object storage did not answer")
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        async for chunk in answer.aiter_bytes(CHUNK):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
