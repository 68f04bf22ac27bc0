"""YouTube's resumable upload through google-api-python-client, made to survive failures.

Measured library behaviour (shared/research/youtube-offline.md) shapes this module:
- a retried chunk from a streamed MediaFileUpload is sent with an empty body and hangs, so the
  media reads bytes per chunk (`has_stream() -> False`); then the token refresh replay on a
  401 (google-auth-httplib2) resends the chunk intact too;
- the library retries nothing we ask it to safely, so every step goes through `retrying`:
  5xx and 429 with exponential backoff and full jitter, dropped connections likewise; after an
  error the library itself asks the server where it stands (`bytes */size`) and goes on from
  its `Range`;
- a session survives the process: its URI is saved after the first chunk and a new worker asks
  the server where it stands before sending anything; 404/410 means the session is gone.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import time
from collections.abc import Callable
from http.client import HTTPException
from typing import Any, TypeVar

import httplib2
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest, MediaFileUpload

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SESSION_GONE = frozenset({404, 410})
MAX_BACKOFF_SECONDS = 64.0
T = TypeVar("T")


class SessionGone(Exception):
    """The server forgot the upload session: start a new one."""


class ChunkedMedia(MediaFileUpload):  # type: ignore[misc]
    """A file read chunk by chunk as bytes, so that any retry resends the same bytes."""

    def has_stream(self) -> bool:
        """Say no stream: the library then reads each chunk with getbytes()."""
        return False


class Backoff:
    """Exponential backoff with full jitter, checking for cancellation while it waits."""

    def __init__(
        self, retries: int, base_seconds: float, cancelled: Callable[[], bool] = lambda: False
    ) -> None:
        self.retries = retries
        self.base = base_seconds
        self.cancelled = cancelled

    def wait(self, attempt: int, why: str) -> None:
        """Sleep before retry number `attempt` (0-based), or raise when retries are spent."""
        if attempt >= self.retries:
            raise RuntimeError(f"gave up after {self.retries} retries: {why}")
        delay = random.uniform(0, min(MAX_BACKOFF_SECONDS, self.base * 2**attempt))  # noqa: S311
        log.info("youtube call failed; retrying", extra={"why": why, "retry_in_s": delay})
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and not self.cancelled():
            time.sleep(min(0.05, delay))


def transient(error: BaseException) -> str:
    """Return why an error is worth retrying, or "" when it is not."""
    if isinstance(error, HttpError):
        status = int(error.resp.status)
        return f"HTTP {status}" if status in RETRY_STATUSES else ""
    if isinstance(error, ConnectionError | TimeoutError | socket.timeout | HTTPException):
        return type(error).__name__
    if isinstance(error, httplib2.HttpLib2Error | OSError):
        return type(error).__name__
    return ""


def retrying(call: Callable[[], T], backoff: Backoff) -> T:
    """Run `call`, retrying transient failures."""
    attempt = 0
    while True:
        try:
            return call()
        except Exception as error:
            why = transient(error)
            if not why:
                raise
            backoff.wait(attempt, why)
            attempt += 1


def where_session_stands(http: Any, uri: str, size: int) -> int | dict[str, Any]:
    """Ask the server about a stored session: bytes it holds, or the finished video."""
    response, content = http.request(
        uri, "PUT", headers={"Content-Length": "0", "Content-Range": f"bytes */{size}"}
    )
    status = int(response.status)
    if status in (200, 201):
        body: dict[str, Any] = json.loads(content)
        return body
    if status == 308:
        held = response.get("range", "")
        return int(held.rsplit("-", 1)[1]) + 1 if held else 0
    if status in SESSION_GONE:
        raise SessionGone(uri)
    raise HttpError(response, content, uri=uri)


def send_chunks(
    request: HttpRequest,
    http: Any,
    backoff: Backoff,
    on_progress: Callable[[int], None],
    on_session: Callable[[str], None],
    cancelled: Callable[[], bool],
) -> dict[str, Any]:
    """Send every chunk of a resumable request; return the created resource."""
    attempt = 0
    saved = request.resumable_uri
    while True:
        if cancelled():
            raise InterruptedError("upload cancelled")
        try:
            status, done = request.next_chunk(http=http, num_retries=0)
        except Exception as error:
            why = transient(error)
            if isinstance(error, HttpError) and int(error.resp.status) in SESSION_GONE:
                raise SessionGone(str(request.resumable_uri)) from error
            if not why:
                raise
            backoff.wait(attempt, why)
            attempt += 1
            continue
        attempt = 0
        if request.resumable_uri and request.resumable_uri != saved:
            saved = request.resumable_uri
            on_session(saved)
        if done is not None:
            result: dict[str, Any] = done
            return result
        if status is not None:
            on_progress(int(status.resumable_progress))
