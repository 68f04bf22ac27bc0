"""Server interceptors: request context and logs, domain-error mapping, and access control.

Each concern is an async scope around the handler's behaviour, so the same code serves unary
and streaming RPCs; one CallInterceptor runs them outermost first: RequestContext, ErrorMapping,
Authorization.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from filmstudio.v1 import options_pb2
from grpc_status import rpc_status

from services.common import errors
from services.common.auth import Authenticator, authorize, bearer_token
from services.common.context import ClientInfo, client_var, principal_var, request_id_var
from services.common.status import internal_status, to_rpc_status

log = logging.getLogger(__name__)

REQUEST_ID_KEY = "x-request-id"
_MAX_REQUEST_ID = 128
# Only a proxy on this host (the gateway) may tell us the browser's address.
_TRUSTED_PROXIES = frozenset({"127.0.0.1", "::1"})


@dataclass
class CallState:
    """What the interceptors learn about one call, for its log line."""

    method: str
    code: grpc.StatusCode = grpc.StatusCode.OK
    extra: dict[str, Any] = field(default_factory=dict)


Scope = Callable[[CallState, grpc.aio.ServicerContext[Any, Any]], AbstractAsyncContextManager[None]]


def _metadata(context: grpc.aio.ServicerContext[Any, Any], key: str) -> str | None:
    for item_key, value in context.invocation_metadata() or ():
        if item_key == key:
            return value if isinstance(value, str) else None
    return None


def _peer_address(peer: str) -> str:
    """Return the address of a gRPC peer string ("ipv4:1.2.3.4:5", "ipv6:[::1]:5")."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv6":
        return rest.rpartition("]")[0].lstrip("[")
    if kind == "ipv4":
        return rest.rpartition(":")[0]
    return ""


def _client(context: grpc.aio.ServicerContext[Any, Any]) -> ClientInfo:
    """Describe the caller: its address (or the forwarded one from a trusted proxy) and agent."""
    address = _peer_address(context.peer() or "")
    forwarded = _metadata(context, "x-forwarded-for")
    if forwarded and address in _TRUSTED_PROXIES:
        address = forwarded.split(",")[0].strip()[:64]
    agent = _metadata(context, "x-forwarded-user-agent") or _metadata(context, "user-agent")
    return ClientInfo(ip_address=address, user_agent=(agent or "")[:512])


def _wrap(
    handler: grpc.RpcMethodHandler[Any, Any], scope: Scope, method: str
) -> grpc.RpcMethodHandler[Any, Any]:
    """Return a handler whose behaviour runs inside `scope`, whatever its streaming kind."""

    def unary_response(behaviour: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def run(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            async with scope(CallState(method), context):
                return await behaviour(request, context)

        return run

    def stream_response(behaviour: Callable[..., Any]) -> Callable[..., AsyncIterator[Any]]:
        async def run(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            async with scope(CallState(method), context):
                result = behaviour(request, context)
                if inspect.isasyncgen(result):
                    async for message in result:
                        yield message
                else:
                    await result

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
            return factory(
                wrapper(behaviour),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
    return handler


class CallInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Run every call inside the given scopes, outermost first.

    One interceptor with one wrapper per call: each extra wrapper would add an async-generator
    hop to every message of a stream, which a thousand watchers of a job pay a thousand times.
    """

    def __init__(self, *scopes: Scope) -> None:
        self.scopes = scopes

    @asynccontextmanager
    async def _scope(
        self, state: CallState, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for scope in self.scopes:
                await stack.enter_async_context(scope(state, context))
            yield

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        """Wrap the handler once in every scope."""
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        return _wrap(handler, self._scope, handler_call_details.method)


class RequestContext:
    """Give each call a request id (the client's x-request-id, or a new one) and a log line."""

    @asynccontextmanager
    async def __call__(
        self, state: CallState, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        """Set the request id, echo it to the client, and log the call's outcome."""
        incoming = _metadata(context, REQUEST_ID_KEY)
        request_id = incoming if incoming and len(incoming) <= _MAX_REQUEST_ID else None
        request_id = request_id or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        principal_token = principal_var.set(None)
        client_token = client_var.set(_client(context))
        started = time.perf_counter()
        try:
            # Trailers, not headers: sending headers early costs a write per call (~25% QPS).
            context.set_trailing_metadata(((REQUEST_ID_KEY, request_id),))
            yield
        except BaseException:
            if state.code is grpc.StatusCode.OK:
                state.code = grpc.StatusCode.CANCELLED
            raise
        finally:
            elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
            level = logging.ERROR if state.code is grpc.StatusCode.INTERNAL else logging.INFO
            log.log(
                level,
                "rpc finished",
                extra={"rpc": state.method, "code": state.code.name, "duration_ms": elapsed_ms},
            )
            client_var.reset(client_token)
            principal_var.reset(principal_token)
            request_id_var.reset(token)


class ErrorMapping:
    """Turn domain errors into gRPC status with google.rpc details; hide anything else."""

    @asynccontextmanager
    async def __call__(
        self, state: CallState, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        """Abort the call with the mapped status when the handler raises."""
        try:
            yield
        except errors.DomainError as error:
            status = rpc_status.to_status(to_rpc_status(error))
            state.code = status.code
            await context.abort(status.code, status.details, _with_request_id(status))
        except grpc.aio.AbortError:
            state.code = context.code() or grpc.StatusCode.UNKNOWN
            raise
        except Exception:
            log.exception("unexpected error in %s", state.method)
            status = rpc_status.to_status(internal_status())
            state.code = status.code
            await context.abort(status.code, status.details, _with_request_id(status))


def _with_request_id(status: grpc.Status) -> tuple[tuple[str, str | bytes], ...]:
    """Return a status's trailers plus the request id (abort replaces earlier trailers)."""
    request_id = request_id_var.get()
    extra = ((REQUEST_ID_KEY, request_id),) if request_id else ()
    return (*status.trailing_metadata, *extra)


class Authorization:
    """Enforce each RPC's declared access policy with the bearer token of the call."""

    def __init__(self, policies: dict[str, int], authenticator: Authenticator) -> None:
        self._policies = policies
        self._authenticator = authenticator

    @asynccontextmanager
    async def __call__(
        self, state: CallState, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        """Authenticate the caller, check the policy, and expose the caller to the handler."""
        if not state.method.startswith("/filmstudio."):
            yield  # health and reflection stay open
            return
        # An RPC missing from the table (not hosted with a policy) is refused, never open.
        access = self._policies.get(state.method, options_pb2.ACCESS_UNSPECIFIED)
        principal = None
        try:
            token = bearer_token(_metadata(context, "authorization"))
            if token is not None:
                principal = await self._authenticator.authenticate(token)
        except errors.Unauthenticated:
            # A bad token on a public RPC is ignored rather than failing the call.
            if access != options_pb2.ACCESS_PUBLIC:
                raise
        authorize(access, principal, state.method)
        principal_var.set(principal)
        yield
