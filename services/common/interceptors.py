"""The server interceptor: request context and logs, access control, and domain-error mapping.

One CallInterceptor runs every call inside one scope, the same for unary and streaming RPCs:
it sets the request id and caller context, checks the RPC's access policy and rate limit
(services/common/rate_limits.py), maps domain errors
to gRPC status with google.rpc details (anything unexpected becomes INTERNAL), and logs and
counts the outcome (services/common/rpc_metrics.py). With traces on
(services/common/tracing.py) it continues the caller's `traceparent` in a server span per call,
named after the method and ending with its status code; with traces off it creates nothing. The
scope is plain try/except/finally rather
than nested context managers: this runs on every call of the studio, and each generator-based
layer costs a visible share of it.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import Token
from dataclasses import dataclass, field
from random import getrandbits
from typing import Any, NoReturn

import grpc
from filmstudio.v1 import options_pb2
from grpc_status import rpc_status
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode

from services.common import errors, tracing
from services.common.addresses import TrustedProxies
from services.common.auth import Authenticator, authorize, bearer_token
from services.common.context import (
    ClientInfo,
    Principal,
    client_var,
    principal_var,
    request_id_var,
)
from services.common.drain import CallStarts
from services.common.limits import Rejected, RequestGuard
from services.common.logs import log_without_caller
from services.common.outages import dependency_outage
from services.common.rate_limits import MethodLimit, RateLimiter
from services.common.rpc_metrics import MethodMetrics, RpcMetrics
from services.common.status import internal_status, to_rpc_status

log = logging.getLogger(__name__)

REQUEST_ID_KEY = "x-request-id"
# grpc-gateway's name for the browser's User-Agent (its own User-Agent is the gateway's).
GATEWAY_USER_AGENT_KEY = "grpcgateway-user-agent"
_MAX_REQUEST_ID = 128
_WANTED = frozenset(
    {
        REQUEST_ID_KEY,
        "authorization",
        "x-forwarded-for",
        "x-forwarded-user-agent",
        GATEWAY_USER_AGENT_KEY,
        "user-agent",
        *tracing.TRACE_KEYS,
    }
)

Context = grpc.aio.ServicerContext[Any, Any]


@dataclass
class CallState:
    """What the interceptor learns about one call, for its log line."""

    method: str
    metrics: MethodMetrics
    code: grpc.StatusCode = grpc.StatusCode.OK
    started: float = field(default_factory=time.perf_counter)
    resets: tuple[Token[Any], ...] = ()
    span: Span | None = None
    trace_token: Token[otel_context.Context] | None = None


def _headers(context: Context) -> dict[str, str]:
    """Return the call's metadata this interceptor reads (the first value of each key)."""
    found: dict[str, str] = {}
    for key, value in context.invocation_metadata() or ():
        if key in _WANTED and key not in found and isinstance(value, str):
            found[key] = value
    return found


def _peer_address(peer: str) -> str:
    """Return the address of a gRPC peer string ("ipv4:1.2.3.4:5", "ipv6:[::1]:5", "unix:")."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv6":
        return rest.rpartition("]")[0].lstrip("[")
    if kind == "ipv4":
        return rest.rpartition(":")[0]
    if kind == "unix":
        # A process on this machine (GRPC_UNIX_SOCKET), as local as one on loopback.
        return "127.0.0.1"
    return ""


def _client(context: Context, headers: dict[str, str], proxies: TrustedProxies) -> ClientInfo:
    """Describe the caller: its address (as trusted proxies forwarded it) and agent."""
    peer = _peer_address(context.peer() or "")
    address = proxies.client_address(peer, headers.get("x-forwarded-for"))[:64]
    agent = (
        headers.get("x-forwarded-user-agent")
        or headers.get(GATEWAY_USER_AGENT_KEY)
        or headers.get("user-agent")
    )
    return ClientInfo(ip_address=address, user_agent=(agent or "")[:512])


class CallInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Run every call in the studio's scope: context and log line, access policy, error mapping.

    One wrapper per method, built once: each extra wrapper would add an async-generator hop to
    every message of a stream, which a thousand watchers of a job pay a thousand times.
    """

    def __init__(
        self,
        policies: dict[str, int],
        authenticator: Authenticator,
        trusted_proxies: TrustedProxies | None = None,
        guard: RequestGuard | None = None,
        metrics: RpcMetrics | None = None,
        limiter: RateLimiter | None = None,
        tracer: trace.Tracer | None = None,
        starts: CallStarts | None = None,
    ) -> None:
        self._policies = policies
        self._authenticator = authenticator
        self._proxies = trusted_proxies or TrustedProxies()
        self._guard = guard
        self._metrics = metrics or RpcMetrics()
        self._limiter = limiter
        # Read once: without a tracer (traces off) a call pays one `is None` test.
        self._tracer = tracer if tracer is not None else tracing.tracer()
        self._wrapped: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
        # Counted here rather than by an interceptor of its own: each one is a coroutine per call.
        self._starts = starts or CallStarts()

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        """Return the method's handler wrapped in the scope (built on its first call)."""
        self._starts.started += 1
        method = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            handler = await continuation(handler_call_details)
            if handler is None:
                return handler  # unknown method: gRPC answers UNIMPLEMENTED
            # Handlers are registered once at start-up, so one wrapper per method serves all.
            wrapped = self._wrapped[method] = self._wrap(handler, method)
        return wrapped

    def _wrap(
        self, handler: grpc.RpcMethodHandler[Any, Any], method: str
    ) -> grpc.RpcMethodHandler[Any, Any]:
        """Return a handler whose behaviour runs inside the scope, whatever its streaming kind."""
        metrics: MethodMetrics
        limit = self._limiter.for_method(method) if self._limiter is not None else None

        def unary_response(behaviour: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
            async def run(request: Any, context: Context) -> Any:
                state = await self._enter(method, metrics, context, limit)
                try:
                    if type(request) is Rejected:
                        raise request.error
                    return await behaviour(request, context)
                except BaseException as error:
                    await self._fail(state, context, error)
                finally:
                    self._exit(state)

            return run

        def stream_response(behaviour: Callable[..., Any]) -> Callable[..., AsyncIterator[Any]]:
            async def run(request: Any, context: Context) -> AsyncIterator[Any]:
                state = await self._enter(method, metrics, context, limit)
                try:
                    if type(request) is Rejected:
                        raise request.error
                    result = behaviour(request, context)
                    if inspect.isasyncgen(result):
                        async for message in result:
                            yield message
                    else:
                        await result
                except BaseException as error:
                    await self._fail(state, context, error)
                finally:
                    self._exit(state)

            return run

        kinds = (
            ("unary_unary", grpc.unary_unary_rpc_method_handler, unary_response),
            ("stream_unary", grpc.stream_unary_rpc_method_handler, unary_response),
            ("unary_stream", grpc.unary_stream_rpc_method_handler, stream_response),
            ("stream_stream", grpc.stream_stream_rpc_method_handler, stream_response),
        )
        for attribute, factory, wrapper in kinds:
            behaviour = getattr(handler, attribute)
            if behaviour is not None:
                # Resolved once per method: a call pays a dict lookup and two adds, not labels().
                metrics = self._metrics.method(method, attribute)
                deserializer = handler.request_deserializer
                if self._guard is not None:
                    streaming = attribute.startswith("stream")
                    deserializer = self._guard.deserializer(
                        method, deserializer, streaming=streaming
                    )
                serializer = handler.response_serializer
                if attribute.endswith("stream"):  # a server stream: each message to many
                    serializer = serialized_once(serializer)
                return factory(
                    wrapper(behaviour),
                    request_deserializer=deserializer,
                    response_serializer=serializer,
                )
        return handler

    async def _enter(
        self, method: str, metrics: MethodMetrics, context: Context, limit: MethodLimit | None
    ) -> CallState:
        """Set the request id and caller context, echo the id, check access and rate limit.

        A refusal is raised after the context is set, so that it is mapped and logged like any
        other error: the caller's `try` starts only once this returns, hence the local guard.
        """
        headers = _headers(context)
        incoming = headers.get(REQUEST_ID_KEY)
        request_id = incoming if incoming and len(incoming) <= _MAX_REQUEST_ID else None
        # Unique, not secret: Python's generator (reseeded in forked children) spares the
        # getrandom() syscall per call that os.urandom made.
        request_id = request_id or f"{getrandbits(128):032x}"
        state = CallState(method, metrics)
        client = _client(context, headers, self._proxies)
        state.resets = (
            request_id_var.set(request_id),
            principal_var.set(None),
            client_var.set(client),
        )
        if self._tracer is not None:
            _start_span(self._tracer, state, headers)
        # Trailers, not headers: sending headers early costs a write per call (~25% QPS).
        context.set_trailing_metadata(((REQUEST_ID_KEY, request_id),))
        try:
            principal = await self._authorize(method, headers.get("authorization"))
            principal_var.set(principal)
            if limit is not None:
                # Reads count in this process (no await); shared classes ask Redis.
                if limit.shared is None:
                    limit.take_local(principal, client.ip_address)
                else:
                    await limit.take(principal, client.ip_address)
        except BaseException as error:
            try:
                await self._fail(state, context, error)
            finally:
                self._exit(state)
        return state

    async def _authorize(self, method: str, authorization: str | None) -> Principal | None:
        """Authenticate the caller and enforce the RPC's declared access policy."""
        if not method.startswith("/filmstudio."):
            return None  # health and reflection stay open
        # An RPC missing from the table (not hosted with a policy) is refused, never open.
        access = self._policies.get(method, options_pb2.ACCESS_UNSPECIFIED)
        principal = None
        try:
            token = bearer_token(authorization)
            if token is not None:
                principal = await self._authenticator.authenticate(token)
        except errors.Unauthenticated:
            # A bad token on a public RPC is ignored rather than failing the call.
            if access != options_pb2.ACCESS_PUBLIC:
                raise
        authorize(access, principal, method)
        return principal

    async def _fail(self, state: CallState, context: Context, error: BaseException) -> NoReturn:
        """Abort with the status a domain error maps to; hide anything unexpected; re-raise."""
        if (outage := dependency_outage(error)) is not None:
            log.warning("%s in %s", outage.reason, state.method, exc_info=error)
            error = outage
        if isinstance(error, errors.DomainError):
            status = rpc_status.to_status(to_rpc_status(error))
        elif isinstance(error, grpc.aio.AbortError):
            state.code = context.code() or grpc.StatusCode.UNKNOWN
            raise error
        elif isinstance(error, Exception):
            log.exception("unexpected error in %s", state.method, exc_info=error)
            status = rpc_status.to_status(internal_status())
        else:  # cancelled, or the process is going down
            state.code = grpc.StatusCode.CANCELLED
            raise error
        state.code = status.code
        await context.abort(status.code, status.details, _with_request_id(status))
        raise AssertionError("abort returned")  # pragma: no cover - abort always raises

    def _exit(self, state: CallState) -> None:
        """Log and count the call's outcome, and restore the context."""
        elapsed = time.perf_counter() - state.started
        state.metrics.done(state.code, elapsed)
        elapsed_ms = round(elapsed * 1000, 3)
        level = logging.ERROR if state.code is grpc.StatusCode.INTERNAL else logging.INFO
        if log.isEnabledFor(level):
            extra = {"rpc": state.method, "code": state.code.name, "duration_ms": elapsed_ms}
            # Once per call: Logger.log would walk the stack for a caller that no line shows.
            log_without_caller(log, level, "rpc finished", extra)
        if state.span is not None:
            _end_span(state.span, state)
        request_id, principal, client = state.resets
        try:
            client_var.reset(client)
            principal_var.reset(principal)
            request_id_var.reset(request_id)
        except ValueError:
            # A stream the client left is closed from another task (GeneratorExit), whose
            # context never saw these values: nothing there to restore.
            pass


def serialized_once(
    serialize: Callable[[Any], bytes] | None,
) -> Callable[[Any], bytes] | None:
    """Return a stream's serializer that serializes one message object once, however often sent.

    grpc serializes what each stream writes, and a job's event reaches every watcher as one
    message object (services/ai_job/servicer.py): a thousand watchers made a thousand copies of
    the same bytes. The last object's bytes are kept, by identity. So a streaming handler never
    changes a message it has yielded (each event's message is made once and shared anyway).
    """
    if serialize is None:
        return None
    last: Any = None
    data = b""

    def once(message: Any) -> bytes:
        nonlocal last, data
        if message is not last:
            data = serialize(message)
            last = message
        return data

    return once


def _start_span(tracer: trace.Tracer, state: CallState, headers: dict[str, str]) -> None:
    """Open the call's server span, a child of the caller's `traceparent`, as the current."""
    parent = tracing.extract(headers) if "traceparent" in headers else None
    service, _, method = state.method.lstrip("/").rpartition("/")
    span = tracer.start_span(
        state.method.lstrip("/"),
        context=parent,
        kind=SpanKind.SERVER,
        attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": method},
    )
    state.span = span
    state.trace_token = otel_context.attach(trace.set_span_in_context(span))


def _end_span(span: Span, state: CallState) -> None:
    """End the call's span with its status code and restore the caller's context."""
    span.set_attribute("rpc.grpc.status_code", state.code.value[0])
    if state.code is not grpc.StatusCode.OK:
        span.set_status(StatusCode.ERROR, state.code.name)
    span.end()
    if state.trace_token is not None:
        otel_context.detach(state.trace_token)


def _with_request_id(status: grpc.Status) -> tuple[tuple[str, str | bytes], ...]:
    """Return a status's trailers plus the request id (abort replaces earlier trailers)."""
    request_id = request_id_var.get()
    extra = ((REQUEST_ID_KEY, request_id),) if request_id else ()
    return (*status.trailing_metadata, *extra)
