"""uvicorn's httptools server, adapted: one write per whole response, and HTTP/1.1 trailers.

uvicorn writes a response's status line and headers, then its body, as two writes: two
syscalls, and two wake-ups of the client, for every answer of known length. Here the head
waits for the body and both go out together. uvicorn also lacks the ASGI
`http.response.trailers` extension: requests that send TE: trailers get it, so every other
request keeps uvicorn's own framing.
"""

from __future__ import annotations

import asyncio
import logging
import re
import urllib.parse
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

import httptools
from uvicorn.protocols.http import httptools_impl
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from gateway.trailers import EXTENSION, asks_for_trailers

if TYPE_CHECKING:
    from gateway.asgi import Scope
    from gateway.lane import DirectLane


def _sized(start: Any) -> bool:
    """Tell whether a response start declares a non-zero Content-Length (so a body follows)."""
    for name, value in start.get("headers", ()):
        if name == b"content-length":
            return bool(value != b"0")
    return False


def _matching(pattern: re.Pattern[bytes]) -> bytes:
    """Return every byte a one-byte character class matches, for `bytes.translate` to delete."""
    return bytes(b for b in range(256) if pattern.fullmatch(bytes([b])))


# uvicorn's own checks of header names and values, as byte sets: deleting them from a joined
# name (or value) changes its length exactly where its regex would have found a bad byte, at
# a tenth of the regex's cost.
_BAD_NAME_BYTES = _matching(httptools_impl.HEADER_RE)
_BAD_VALUE_BYTES = _matching(httptools_impl.HEADER_VALUE_RE)


def _clean(joined: bytes, bad: bytes) -> bool:
    """Tell whether `joined` holds none of the `bad` bytes."""
    return len(joined.translate(None, bad)) == len(joined)


def whole_answer(
    default_headers: Iterable[tuple[bytes, bytes]],
    status: int,
    headers: Iterable[tuple[bytes, bytes]],
    body: bytes,
    keep_alive: bool,
) -> bytes | None:
    """Return a response's head and whole body as one write; None where uvicorn must frame it.

    As uvicorn's send checks them: its own framing headers (Transfer-Encoding, Connection) and
    a Content-Length other than the body's leave it to uvicorn, and so does a bad header.
    """
    content = [httptools_impl.STATUS_LINE[status]]
    names, values = [], []
    length = None
    for fields in (default_headers, headers):
        for name, value in fields:
            lower = name.lower()
            if lower == b"content-length":
                if length is not None:
                    return None
                length = value
            elif lower in (b"transfer-encoding", b"connection"):
                return None
            content += (lower, b": ", value, b"\r\n")
            names.append(lower)
            values.append(value)
    # One look over all names, one over all values: a bad byte in any of them shows.
    if (
        length != str(len(body)).encode()
        or not _clean(b"".join(names), _BAD_NAME_BYTES)
        or not _clean(b"".join(values), _BAD_VALUE_BYTES)
    ):
        return None
    if not keep_alive:
        content.append(b"connection: close\r\n")
    content += (b"\r\n", body)
    return b"".join(content)


def log_access(logger: logging.Logger, scope: Any, status: int) -> None:
    """Log a request's access line, as uvicorn's send does."""
    path = get_path_with_query_string(scope)
    line = '%s - "%s %s HTTP/%s" %d'
    logger.info(line, get_client_addr(scope), scope["method"], path, scope["http_version"], status)


class OneWriteCycle(httptools_impl.RequestResponseCycle):
    """A response whose head goes out with its whole body, in one write.

    A sized response's start is held until its body: when that is the whole body, this class
    writes both itself (checking the headers as uvicorn does, two searches for them all rather
    than two per header); anything else goes through uvicorn's own send, start first.
    """

    held_start: Any = None

    async def send(self, message: Any) -> None:
        """Send as uvicorn does; hold a sized response's start until its body comes."""
        start = self.held_start
        if start is not None:
            self.held_start = None
            if not self._write_whole(start, message):
                self.response_started = False  # as if uvicorn had not seen the start yet
                await super().send(start)
                await super().send(message)
            return
        if (
            message["type"] == "http.response.start"
            and not self.response_started
            and self.scope["method"] != "HEAD"
            and _sized(message)
        ):
            self.held_start = message
            # Started, to the app and to uvicorn's run_asgi: an app that fails now gets the
            # connection closed, as if the head had gone out, rather than a second answer.
            self.response_started = True
            return
        await super().send(message)

    def _write_whole(self, start: Any, message: Any) -> bool:
        """Write the head and this body as one write, if it is the whole body; else False."""
        if (
            message["type"] != "http.response.body"
            or message.get("more_body", False)
            or self.disconnected
            or self.flow.write_paused
        ):
            return False
        body = message.get("body", b"")
        status = start["status"]
        headers = start.get("headers", ())
        whole = whole_answer(self.default_headers, status, headers, body, self.keep_alive)
        if whole is None:
            return False
        if self.access_log:  # as uvicorn's send logs it
            log_access(self.access_logger, self.scope, status)
        self.transport.write(whole)
        self.waiting_for_100_continue = False
        self.chunked_encoding, self.expected_content_length = False, 0
        self.response_complete = True
        self.message_event.set()
        if not self.keep_alive:
            self.transport.close()
        self.on_response()
        return True


class TrailerCycle(OneWriteCycle):
    """A response that may end with trailers: chunked, its last chunk carrying the fields."""

    trailers_due = False
    trailer_fields: list[tuple[bytes, bytes]]

    async def send(self, message: Any) -> None:
        """Send as uvicorn does, except that a response started with trailers ends with them."""
        kind = message["type"]
        if kind == "http.response.start" and message.get("trailers"):
            self.trailers_due, self.trailer_fields = True, []
            headers = [
                (k, v) for k, v in message.get("headers", ()) if k.lower() != b"content-length"
            ]
            message = {**message, "headers": [*headers, (b"transfer-encoding", b"chunked")]}
        elif kind == "http.response.body" and self.trailers_due:
            if message.get("body"):  # the end waits for the trailers
                await super().send({"type": kind, "body": message["body"], "more_body": True})
            return
        elif kind == "http.response.trailers" and self.trailers_due:
            self.trailer_fields.extend(message.get("headers", ()))
            if message.get("more_trailers"):
                return
            self.trailers_due = False
            fields = b"".join(name + b": " + value + b"\r\n" for name, value in self.trailer_fields)
            if not self.disconnected:
                self.transport.write(b"0\r\n" + fields + b"\r\n")
            # The last chunk is written: let uvicorn finish the response without writing more.
            self.chunked_encoding, self.expected_content_length = False, 0
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await super().send(message)


# Nothing waits on a lane request's event: uvicorn only sets it, so one serves them all.
_NO_WAITER = asyncio.Event()


class LaneCycle(httptools_impl.RequestResponseCycle):
    """A request the lane answers from the protocol itself: what uvicorn asks of its cycle.

    uvicorn's protocol looks at the cycle of the request in hand: to queue a pipelined request
    behind it, to mark it disconnected, to end its keep-alive on shutdown. This one sends no
    ASGI messages, so none of the rest of a cycle's state is made.
    """

    def __init__(self, scope: Any, keep_alive: bool) -> None:  # uvicorn's __init__: not needed
        self.scope = scope
        self.keep_alive = keep_alive
        self.disconnected = False
        self.response_started = False
        self.response_complete = False
        self.more_body = True
        self.body = bytearray()
        self.message_event = _NO_WAITER


class Http1Protocol(httptools_impl.HttpToolsProtocol):
    """uvicorn's httptools protocol with one-write responses and, where asked for, trailers.

    With a `lane` (see `with_lane`), the requests it takes run it instead of the full app; of
    those, a GET whose call can go out at once is answered from here, with no task at all.
    """

    lane: DirectLane | None = None
    _idle_since: float | None = None  # when the last answer went out, if nothing came since

    # --- keep-alive: one timer per idle spell, not one per answer -----------------------------

    def _unset_keepalive_if_required(self) -> None:
        """Note that the connection is busy; an armed timer sees it when it fires.

        uvicorn cancels its timer on every read and arms a new one after every answer: two
        timer operations per request, where a timer left running costs nothing until it fires.
        """
        self._idle_since = None

    def on_response_complete(self) -> None:
        """Start a pipelined request, or let the connection idle, as uvicorn does."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._idle_since = None
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self._keep_alive_due
            )

    def _keep_alive_due(self) -> None:
        """Close a connection idle for the whole keep-alive timeout; else look again later."""
        self.timeout_keep_alive_task = None
        idle_since = self._idle_since
        if idle_since is None:
            return  # busy: its next answer arms the timer again
        left = idle_since + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self.timeout_keep_alive_task = self.loop.call_later(left, self._keep_alive_due)
        else:
            self.timeout_keep_alive_handler()

    def connection_lost(self, exc: Exception | None) -> None:
        """End the connection as uvicorn does, and its keep-alive timer with it."""
        super().connection_lost(exc)
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None

    # --- the lane's requests, answered here ---------------------------------------------------

    def _lane_answers(self, lane: DirectLane) -> bool:
        """Offer the lane a request whose head is complete; True if it took it.

        Only a bodiless GET with no earlier answer pending on the connection, as uvicorn would
        run it at once, and only while uvicorn limits no concurrency.
        """
        cycle, parser = self.cycle, self.parser
        if (
            (cycle is not None and not cycle.response_complete)
            or self.limit_concurrency is not None
            or parser.get_method() != b"GET"
            or parser.should_upgrade()
        ):
            return False
        for name, _ in self.headers:
            if name == b"content-length" or name == b"transfer-encoding":
                return False
        # The scope as uvicorn's on_headers_complete completes it.
        scope = self.scope
        scope["method"] = "GET"
        version = parser.get_http_version()
        if version != "1.1":
            scope["http_version"] = version
        url = httptools.parse_url(self.url)
        raw_path = url.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        scope["path"] = self.root_path + path
        scope["raw_path"] = self.root_path.encode("ascii") + raw_path
        scope["query_string"] = url.query or b""
        keep_alive = version != "1.0" and parser.should_keep_alive()
        return lane.answer(self, cast("Scope", scope), keep_alive)

    def lane_cycle(self, scope: Any, keep_alive: bool) -> LaneCycle:
        """Make the cycle of a request the lane answers from here: the connection's current."""
        cycle = self.cycle = LaneCycle(scope, keep_alive)
        return cycle

    def write_lane_answer(
        self, cycle: LaneCycle, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> bool:
        """Write a lane request's whole answer and end it; False if uvicorn must write it."""
        if self.transport.is_closing() or cycle.disconnected:
            cycle.response_complete = True  # nobody to answer, as uvicorn's send drops it
            return True
        if self.flow.write_paused:
            return False
        default_headers = self.server_state.default_headers
        whole = whole_answer(default_headers, status, headers, body, cycle.keep_alive)
        if whole is None:
            return False
        if self.access_log:
            log_access(self.access_logger, cycle.scope, status)
        self.transport.write(whole)
        cycle.response_complete = True
        if not cycle.keep_alive:
            self.transport.close()
        self.on_response_complete()
        return True

    def run_lane_app(self, cycle: LaneCycle, app: Any) -> None:
        """Run an ASGI app for a lane request, as uvicorn runs any: in a task, with a cycle."""
        running = OneWriteCycle(
            scope=cycle.scope,
            transport=self.transport,
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=self.access_log,
            default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=False,
            keep_alive=cycle.keep_alive,
            on_response=self.on_response_complete,
        )
        running.more_body, running.disconnected = cycle.more_body, cycle.disconnected
        if self.cycle is cycle:  # else a pipelined request's cycle came since: it stays current
            self.cycle = running
        httptools_impl.HttpToolsProtocol._start_asgi_task(self, running, app)

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        """Start the cycle as uvicorn does, on the lane's app where the lane takes it."""
        lane = self.lane
        if lane is not None and lane.takes(cycle.scope):
            app = lane
        super()._start_asgi_task(cycle, app)

    def on_headers_complete(self) -> None:
        """Create the cycle as uvicorn does, then give it our class before it runs."""
        lane = self.lane
        if lane is not None and self._lane_answers(lane):
            return
        super().on_headers_complete()
        cycle = self.cycle
        # An upgrade (WebSocket) creates no cycle: the one there belongs to an earlier request.
        if type(cycle) is not httptools_impl.RequestResponseCycle or cycle.scope is not self.scope:
            return
        # It has not run yet: its task starts on the next tick.
        if self.scope["method"] != "HEAD" and asks_for_trailers(self.scope):
            cycle.__class__ = TrailerCycle
            self.scope.setdefault("extensions", {})[EXTENSION] = {}
        else:
            cycle.__class__ = OneWriteCycle


def with_lane(lane: DirectLane) -> type[Http1Protocol]:
    """Return the protocol class whose connections serve the requests `lane` takes on it."""
    return type("LaneHttp1Protocol", (Http1Protocol,), {"lane": lane})
