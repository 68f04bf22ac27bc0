"""The direct lane: a unary GET answered from the HTTP/1 protocol, past the ASGI middleware.

A unary GET is most of REST traffic. On the full stack it passes through five layers (request
id and metrics, CORS, gzip, dispatch, error tracking), and each adds a coroutine frame that
every await crosses twice and a wrapper that every message crosses; for most answers none of
them changes anything. The lane serves such a request in one coroutine, with the handlers'
own functions: it builds the call, makes it, and collects the answer (success or error) as
the ASGI messages the handlers would have sent. An answer the middleware would leave as it is
(CORS off; too small to compress, or not wanted gzipped) goes out as it is, with the request
id; any other is replayed through the very middleware objects of the full stack.

Where the call can go out at once (an open connection to the backend with a free stream),
the protocol does not even start a task: `answer` sends it from the request's head and
`_answered` writes a plain success from the stream's callback. Anything else that comes back
(an error, an answer for CORS or gzip, a stream the server refused unseen) is handed to a
coroutine in a uvicorn cycle, as the lane's own requests are.

Requests the lane does not take run the full stack from the start: other methods, the
gateway's own paths (docs, health, pages), streams, unknown routes, TE: trailers, and all
requests while tracing is on.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from functools import partial
from time import perf_counter
from typing import Any, Protocol, cast

import grpc

from gateway import metrics, tracing
from gateway.app import Gateway, with_middleware
from gateway.asgi import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    add_request_id,
    header,
    new_request_id,
    send_error,
    whole_response,
)
from gateway.core import prepare, send_rpc_error, unavailable_while_draining
from gateway.errors import GatewayError
from gateway.h2c.streams import StreamReset
from gateway.handlers import add_challenge, internal_error, log_failure, raw_path
from gateway.metadata import REQUEST_ID, response_headers
from gateway.routing import Binding
from gateway.trailers import asks_for_trailers
from gateway.unary import answer_body
from gateway.upstream import Reply, Sent

_REQUEST_ID = REQUEST_ID.encode()
_ANSWER = "gateway.lane.answer"  # scope state: the messages the replay app sends
# Calls kept by their GET's path and query (see `DirectLane._calls`); longer ones are built
# each time, and a full memo starts again empty.
_KEPT_CALLS = 4096
_KEPT_KEY_BYTES = 512


class LaneHost(Protocol):
    """What the lane asks of the HTTP/1 protocol that answers a request itself (gateway/http1.py).

    A cycle here is the protocol's own record of the request (its `scope`, its keep-alive).
    """

    def lane_cycle(self, scope: Any, keep_alive: bool) -> Any:
        """Make the request's cycle the connection's current one, and return it."""

    def write_lane_answer(
        self, cycle: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> bool:
        """Write the whole answer and end the request; False if it must go through uvicorn."""

    def run_lane_app(self, cycle: Any, app: Any) -> None:
        """Run an ASGI app for the request, as uvicorn runs any."""


class Answer:
    """An ASGI send that keeps a whole answer's messages, as the handlers' tracking send would.

    It adds the 401 challenge, as the handlers' own send does, and notes the status.
    """

    __slots__ = ("messages", "scope", "status")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.messages: list[Message] = []
        self.status = 0

    async def __call__(self, message: Message) -> None:
        """Keep the message (a response start gets its status noted and its challenge)."""
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            add_challenge(self.scope, message)
        self.messages.append(message)

    def keep_success(
        self, body: bytes, content_type: bytes, headers: list[tuple[bytes, bytes]]
    ) -> None:
        """Keep a 200 with its whole body, as the handlers send it (no trailers here)."""
        self.status = 200
        self.messages += whole_response(200, body, content_type, headers)


async def _replay(scope: Scope, receive: Receive, send: Send) -> None:
    """Send the answer the lane kept: the app inside the middleware when the lane needs it."""
    for message in scope["state"].pop(_ANSWER):
        await send(message)


def _identified(scope: Scope) -> tuple[str, float]:
    """Give a request its id (the client's, when sane) and note when it started."""
    state: MutableMapping[str, Any] = scope.setdefault("state", {})
    state["request_id"] = rid = new_request_id(scope)
    return rid, perf_counter()


class DirectLane:
    """An ASGI app for unary GETs, past the middleware; others go to the full stack's app.

    uvicorn runs it as it runs the full stack (gateway/http1.py picks which per request), so
    an exception that escapes gets the same 500 or closed connection.
    """

    def __init__(self, gateway: Gateway, app: ASGIApp) -> None:
        self.gateway, self.core, self.app = gateway, gateway.core, app
        config = gateway.config
        self._cors = bool(config.cors_origins)
        self._gzip_min_bytes = config.gzip_min_bytes
        # The same middleware as the full stack's, around the kept answer instead of the app.
        self._middleware = with_middleware(_replay, config)
        # A GET's raw path and query alone decide its binding and request message (the routes
        # and settings are fixed), and clients read the same few resources again and again:
        # the binding and the encoded request are kept by them, past the routing and the
        # transcoding. Only what built without error is kept.
        self._calls: dict[tuple[bytes, bytes], tuple[Binding, bytes]] = {}

    def takes(self, scope: Scope) -> bool:
        """Tell whether the lane may serve a request whose head has just arrived."""
        return (
            scope["method"] == "GET"
            and not self.gateway.serves_itself(scope["path"])
            and not tracing.enabled()
            and not asks_for_trailers(scope)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a unary GET; a stream or unknown route goes to the full stack."""
        core = self.core
        binding, variables = self._unary_binding(scope)
        if binding is None:
            await self.app(scope, receive, send)
            return
        identity = _identified(scope)
        metrics.set_route(scope, binding.template.text)
        answer = Answer(scope)
        try:
            try:
                unavailable_while_draining(core)
                prepared = prepare(core, scope, streaming=False)
                request = core.build_request(binding, variables, prepared.query)
                reply = await core.upstream_or_fail().unary(
                    binding.method, request, prepared.metadata, prepared.timeout
                )
            except (GatewayError, grpc.aio.AioRpcError) as error:
                await self._keep_error(answer, error, scope)
            else:
                answer.keep_success(*self._transcoded(binding, reply))
        except Exception:
            log_failure(scope)  # as the handlers do: the bug's answer is a JSON INTERNAL
            answer = Answer(scope)
            await send_error(answer, internal_error())
        await self._send_kept(scope, receive, send, answer, *identity)

    # --- answered from the HTTP/1 protocol, with no task --------------------------------------

    def answer(self, host: LaneHost, scope: Scope, keep_alive: bool) -> bool:
        """Send a GET's call from the protocol itself; False leaves the request to uvicorn.

        Only where nothing has to wait: the call goes out at once on an open connection, and
        its answer is written from the stream's callback. Nothing is sent before True, so on
        False the request runs as any other (this lane's coroutine or the full stack), which
        meets and answers whatever stopped it here (a bad query, draining, no connection).
        """
        core = self.core
        if not self.takes(scope) or core.upstream is None or core.draining.is_set():
            return False
        key = (scope["raw_path"], scope["query_string"])
        call = self._calls.get(key)
        if call is None:
            binding, variables = self._unary_binding(scope)
            if binding is None:
                return False
        else:
            binding, payload = call
        identity = _identified(scope)
        upstream = core.upstream
        try:
            prepared = prepare(core, scope, streaming=False)
            if call is None:
                message = core.build_request(binding, variables, prepared.query)
                payload = message.SerializeToString()
                self._keep_call(key, binding, payload)
            # Whatever fails before the stream opens (a bug encoding the call) fails again on
            # the coroutine's way, which answers it: nothing went out yet.
            sent = upstream.start(binding.method, payload, prepared.metadata, prepared.timeout)
        except Exception:
            return False
        if sent is None:
            return False
        metrics.set_route(scope, binding.template.text)
        cycle = host.lane_cycle(scope, keep_alive)
        sent.done.add_done_callback(lambda _: self._answered(host, cycle, binding, sent, identity))
        return True

    def _keep_call(self, key: tuple[bytes, bytes], binding: Binding, payload: bytes) -> None:
        """Keep a GET's binding and encoded request by its path and query."""
        if len(key[0]) + len(key[1]) > _KEPT_KEY_BYTES:
            return
        if len(self._calls) >= _KEPT_CALLS:
            self._calls.clear()
        self._calls[key] = (binding, payload)

    def _answered(
        self,
        host: LaneHost,
        cycle: Any,
        binding: Binding,
        sent: Sent,
        identity: tuple[str, float],
    ) -> None:
        """Write a plain success from here; hand anything else to a coroutine that answers it."""
        scope, (rid, started) = cast(Scope, cycle.scope), identity
        try:
            reply = self.core.upstream_or_fail().finish(sent)
            body, content_type, headers = self._transcoded(binding, reply)
        except StreamReset:  # unprocessed: the server never saw it, so it goes again, awaited
            host.run_lane_app(cycle, self)
            return
        except Exception as error:  # the coroutine answers it (or logs it, a bug)
            host.run_lane_app(cycle, partial(self._answer_failure, error, identity))
            return
        length = str(len(body)).encode()
        # As whole_response and the request id's header would have it, in that order.
        fields = [(b"content-type", content_type), (b"content-length", length), *headers]
        fields.append((_REQUEST_ID, rid.encode()))
        if self._plain(scope, body) and host.write_lane_answer(cycle, 200, fields, body):
            metrics.finished(scope, 200, perf_counter() - started)
            return
        answer = Answer(scope)
        answer.keep_success(body, content_type, headers)
        host.run_lane_app(cycle, partial(self._send_kept_app, answer, identity))

    async def _answer_failure(
        self,
        error: Exception,
        identity: tuple[str, float],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """Answer a call the protocol sent that failed (or whose answer did not transcode)."""
        answer = Answer(scope)
        try:
            if not isinstance(error, (GatewayError, grpc.aio.AioRpcError)):
                raise error
            await self._keep_error(answer, error, scope)
        except Exception:
            log_failure(scope)
            answer = Answer(scope)
            await send_error(answer, internal_error())
        await self._send_kept(scope, receive, send, answer, *identity)

    async def _send_kept_app(
        self,
        answer: Answer,
        identity: tuple[str, float],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """Deliver an answer the protocol kept but the middleware must send (CORS, gzip)."""
        await self._send_kept(scope, receive, send, answer, *identity)

    # --- the kept answer ----------------------------------------------------------------------

    def _unary_binding(self, scope: Scope) -> tuple[Binding | None, dict[str, str]]:
        """Return the unary GET binding the request's path names (None: not the lane's)."""
        try:
            binding, variables = self.core.router.match("GET", raw_path(scope))
        except GatewayError:
            return None, {}  # the full stack answers the 404 or 501
        if binding is None or binding.server_streaming or binding.client_streaming or binding.body:
            return None, {}
        return binding, variables

    def _transcoded(
        self, binding: Binding, reply: Reply
    ) -> tuple[bytes, bytes, list[tuple[bytes, bytes]]]:
        """Return a reply's body, content type and headers, as the handlers send them."""
        response, initial, trailing, wire = reply
        body, content_type = answer_body(binding, self.core.bodies, response, wire)
        return body, content_type, response_headers(initial, trailing)

    async def _keep_error(
        self, answer: Answer, error: GatewayError | grpc.aio.AioRpcError, scope: Scope
    ) -> None:
        """Keep a failed call's answer, as the handlers would send it."""
        if isinstance(error, GatewayError):
            await send_error(answer, error)
        else:
            await send_rpc_error(self.core, answer, error, scope)

    async def _send_kept(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        answer: Answer,
        rid: str,
        started: float,
    ) -> None:
        """Deliver the kept answer and count it."""
        try:
            await self._deliver(scope, receive, send, answer.messages, (_REQUEST_ID, rid.encode()))
        except BaseException:
            answer.status = answer.status or 500  # as the request id middleware counts it
            raise
        finally:
            metrics.finished(scope, answer.status, perf_counter() - started)

    async def _deliver(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        messages: list[Message],
        id_header: tuple[bytes, bytes],
    ) -> None:
        """Send the kept answer with the request id: as it is, or through the middleware."""
        if not self._untouched(scope, messages):
            scope["state"][_ANSWER] = messages

            async def with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    add_request_id(message, id_header)
                await send(message)

            await self._middleware(scope, receive, with_id)
            return
        add_request_id(messages[0], id_header)
        for message in messages:
            await send(message)

    def _untouched(self, scope: Scope, messages: list[Message]) -> bool:
        """Tell whether the middleware would send this answer as it is: no CORS, no gzip."""
        if len(messages) != 2 or messages[1].get("more_body", False):
            return False
        return self._plain(scope, messages[1].get("body", b""))

    def _plain(self, scope: Scope, body: bytes) -> bool:
        """Tell whether the middleware would send this whole body as it is: no CORS, no gzip."""
        if self._cors:
            return False  # CORS adds Vary: Origin to every answer, with or without an Origin
        if len(body) < self._gzip_min_bytes:
            return True  # too small to compress, whatever the client accepts
        return b"gzip" not in (header(scope, b"accept-encoding") or b"")
