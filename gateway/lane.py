"""The direct lane: a unary GET answered from the HTTP/1 protocol, past the ASGI middleware.

A unary GET is most of REST traffic. On the full stack it passes through five layers (request
id and metrics, CORS, gzip, dispatch, error tracking), and each adds a coroutine frame that
every await crosses twice and a wrapper that every message crosses; for most answers none of
them changes anything. The lane serves such a request in one coroutine, with the handlers'
own functions: it builds the call, makes it, and collects the answer (success or error) as
the ASGI messages the handlers would have sent. An answer the middleware would leave as it is
(CORS off; too small to compress, or not wanted gzipped) goes out as it is, with the request
id; any other is replayed through the very middleware objects of the full stack.

Requests the lane does not take run the full stack from the start: other methods, the
gateway's own paths (docs, health, pages), streams, unknown routes, TE: trailers, and all
requests while tracing is on.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from time import perf_counter
from typing import Any

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
from gateway.core import Prepared, prepare, send_rpc_error, unavailable_while_draining
from gateway.errors import GatewayError
from gateway.handlers import add_challenge, internal_error, log_failure, raw_path
from gateway.metadata import REQUEST_ID, response_headers
from gateway.routing import Binding
from gateway.trailers import asks_for_trailers
from gateway.unary import answer_body

_REQUEST_ID = REQUEST_ID.encode()
_ANSWER = "gateway.lane.answer"  # scope state: the messages the replay app sends


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


async def _replay(scope: Scope, receive: Receive, send: Send) -> None:
    """Send the answer the lane kept: the app inside the middleware when the lane needs it."""
    for message in scope["state"].pop(_ANSWER):
        await send(message)


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
        try:
            binding, variables = core.router.match("GET", raw_path(scope))
        except GatewayError:
            binding = None  # the full stack answers the 404 or 501
        if binding is None or binding.server_streaming or binding.client_streaming or binding.body:
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        rid = state["request_id"] = new_request_id(scope)
        metrics.set_route(scope, binding.template.text)
        answer = Answer(scope)
        try:
            try:
                unavailable_while_draining(core)
                prepared = prepare(core, scope, streaming=False)
                request = core.build_request(binding, variables, prepared.query)
            except GatewayError as error:
                await send_error(answer, error)
            else:
                await self._call(binding, request, prepared, scope, answer)
        except Exception:
            log_failure(scope)  # as the handlers do: the bug's answer is a JSON INTERNAL
            answer = Answer(scope)
            await send_error(answer, internal_error())
        try:
            await self._deliver(scope, receive, send, answer.messages, (_REQUEST_ID, rid.encode()))
        except BaseException:
            answer.status = answer.status or 500  # as the request id middleware counts it
            raise
        finally:
            metrics.finished(scope, answer.status, perf_counter() - started)

    async def _call(
        self, binding: Binding, request: Any, prepared: Prepared, scope: Scope, answer: Answer
    ) -> None:
        """Make the call; keep its answer as the handlers would send it (no trailers here)."""
        core = self.core
        try:
            response, initial, trailing, wire = await core.upstream_or_fail().unary(
                binding.method, request, prepared.metadata, prepared.timeout
            )
        except GatewayError as error:
            await send_error(answer, error)
        except grpc.aio.AioRpcError as error:
            await send_rpc_error(core, answer, error, scope)
        else:
            body, content_type = answer_body(binding, core.bodies, response, wire)
            headers = response_headers(initial, trailing)
            answer.status = 200
            answer.messages += whole_response(200, body, content_type, headers)

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
        if self._cors:
            return False  # CORS adds Vary: Origin to every answer, with or without an Origin
        if len(messages) != 2 or messages[1].get("more_body", False):
            return False
        if len(messages[1].get("body", b"")) < self._gzip_min_bytes:
            return True  # too small to compress, whatever the client accepts
        return b"gzip" not in (header(scope, b"accept-encoding") or b"")
