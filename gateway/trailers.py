"""HTTP/1.1 response trailers on uvicorn's httptools server, for clients that send TE: trailers.

uvicorn does not implement the ASGI `http.response.trailers` extension; this adds it to the
requests that ask for trailers only, so every other request keeps uvicorn's own code path.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http import httptools_impl

EXTENSION = "http.response.trailers"


def asks_for_trailers(scope: Any) -> bool:
    """Tell whether the request's TE header accepts trailers (RFC 9110 section 10.1.4)."""
    for name, value in scope.get("headers", ()):
        if name == b"te" and b"trailers" in value.lower():
            return True
    return False


class TrailerCycle(httptools_impl.RequestResponseCycle):
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


class TrailerProtocol(httptools_impl.HttpToolsProtocol):
    """uvicorn's httptools protocol, whose requests with TE: trailers may get trailers."""

    def on_headers_complete(self) -> None:
        """Create the cycle as uvicorn does; make it a TrailerCycle if the client asks."""
        super().on_headers_complete()
        cycle = self.cycle
        # An upgrade (WebSocket) creates no cycle: the one there belongs to an earlier request.
        if (
            type(cycle) is httptools_impl.RequestResponseCycle
            and cycle.scope is self.scope
            and self.scope["method"] != "HEAD"
            and asks_for_trailers(self.scope)
        ):
            cycle.__class__ = TrailerCycle  # it has not run yet: its task starts on the next tick
            self.scope.setdefault("extensions", {})[EXTENSION] = {}
