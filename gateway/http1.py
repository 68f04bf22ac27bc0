"""uvicorn's httptools server, adapted: one write per whole response, and HTTP/1.1 trailers.

uvicorn writes a response's status line and headers, then its body, as two writes: two
syscalls, and two wake-ups of the client, for every answer of known length. Here the head
waits for the body and both go out together. uvicorn also lacks the ASGI
`http.response.trailers` extension: requests that send TE: trailers get it, so every other
request keeps uvicorn's own framing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http import httptools_impl
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from gateway.trailers import EXTENSION, asks_for_trailers

if TYPE_CHECKING:
    from gateway.lane import DirectLane


def _sized(start: Any) -> bool:
    """Tell whether a response start declares a non-zero Content-Length (so a body follows)."""
    for name, value in start.get("headers", ()):
        if name == b"content-length":
            return bool(value != b"0")
    return False


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
        headers = [*self.default_headers, *start.get("headers", ())]
        content = [httptools_impl.STATUS_LINE[start["status"]]]
        length = None
        for name, value in headers:
            lower = name.lower()
            if lower == b"content-length":
                if length is not None:
                    return False
                length = value
            elif lower in (b"transfer-encoding", b"connection"):
                return False
            content += (lower, b": ", value, b"\r\n")
        # A valid name holds no "!"-free separator and a value no tab-free control: joined by
        # those, one search each finds any bad byte in any of them.
        if (
            length != str(len(body)).encode()
            or httptools_impl.HEADER_RE.search(b"!".join(name for name, _ in headers))
            or httptools_impl.HEADER_VALUE_RE.search(b"\t".join(value for _, value in headers))
        ):
            return False
        if self.access_log:  # as uvicorn's send logs it
            scope = self.scope
            path = get_path_with_query_string(scope)
            client = get_client_addr(scope)
            line = '%s - "%s %s HTTP/%s" %d'
            self.access_logger.info(
                line, client, scope["method"], path, scope["http_version"], start["status"]
            )
        if not self.keep_alive:
            content.append(b"connection: close\r\n")
        content += (b"\r\n", body)
        self.transport.write(b"".join(content))
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


class Http1Protocol(httptools_impl.HttpToolsProtocol):
    """uvicorn's httptools protocol with one-write responses and, where asked for, trailers.

    With a `lane` (see `with_lane`), the requests it takes run it instead of the full app.
    """

    lane: DirectLane | None = None

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        """Start the cycle as uvicorn does, on the lane's app where the lane takes it."""
        lane = self.lane
        if lane is not None and lane.takes(cycle.scope):
            app = lane
        super()._start_asgi_task(cycle, app)

    def on_headers_complete(self) -> None:
        """Create the cycle as uvicorn does, then give it our class before it runs."""
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
