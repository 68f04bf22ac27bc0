"""The page's session: sign in, refresh and sign out with the refresh token in a cookie.

The page keeps only the short-lived access token, in memory. The refresh token is set as an
HttpOnly, SameSite=Strict cookie scoped to these routes: script on the page cannot read it, other
sites cannot send it, and a reload gets a new access token by POST /app/session/refresh.
"""

from __future__ import annotations

import contextlib
import time
from http.cookies import SimpleCookie
from typing import Any

import grpc
from filmstudio.v1 import user_pb2, user_pb2_grpc
from google.protobuf import json_format

from gateway.asgi import Receive, Scope, Send, header, read_body
from gateway.errors import GatewayError
from gateway.studio_web.http import (
    MAX_BODY_BYTES,
    Backend,
    call_metadata,
    parse,
    require_json,
    send_json,
    send_rpc_error,
)

COOKIE = "filmstudio_refresh"
COOKIE_PATH = "/app/session"
# Paths under the cookie's: a cookie's Path matches only at a "/" (not at ":refresh").
LOGIN, REFRESH, LOGOUT = (f"{COOKIE_PATH}/{verb}" for verb in ("login", "refresh", "logout"))
DEADLINE_SECONDS = 30


def cookie_header(
    scope: Scope, name: str, value: str, path: str, max_age: int, same_site: str = "Strict"
) -> tuple[bytes, bytes]:
    """Return a Set-Cookie header for an HttpOnly cookie (Max-Age 0 deletes it)."""
    # Secure whenever the page came over https (directly or through a proxy that says so).
    https = scope.get("scheme") == "https" or header(scope, b"x-forwarded-proto") == b"https"
    parts = [
        f"{name}={value}",
        f"Path={path}",
        f"Max-Age={max(max_age, 0)}",
        "HttpOnly",
        f"SameSite={same_site}",
    ]
    if https:
        parts.append("Secure")
    return b"set-cookie", "; ".join(parts).encode("latin-1")


def refresh_cookie(scope: Scope, tokens: Any) -> tuple[bytes, bytes]:
    """Return the Set-Cookie header that keeps a token pair's refresh token."""
    max_age = int(tokens.refresh_token_expire_time.ToSeconds() - time.time())
    return cookie_header(scope, COOKIE, tokens.refresh_token, COOKIE_PATH, max_age)


def read_cookie(scope: Scope, name: str) -> str:
    """Return a request cookie's value, or "" when it is absent or the header is malformed."""
    raw = header(scope, b"cookie")
    if raw is None:
        return ""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw.decode("latin-1"))
    except Exception:  # a malformed Cookie header is the same as none
        return ""
    morsel = jar.get(name)
    return morsel.value if morsel is not None else ""


def _answer(tokens: Any, user: Any = None) -> dict[str, Any]:
    """Return what the page may hold: the access token and its expiry, never the refresh."""
    document: dict[str, Any] = {
        "signedIn": True,
        "accessToken": tokens.access_token,
        "accessTokenExpireTime": tokens.access_token_expire_time.ToJsonString(),
    }
    if user is not None:
        document["user"] = json_format.MessageToDict(user)
    return document


class SessionRoutes:
    """POST /app/session/login, /refresh and /logout."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def routes(self) -> dict[str, Any]:
        """Return the raw routes by path."""
        return {LOGIN: self.login, REFRESH: self.refresh, LOGOUT: self.logout}

    def _stub(self) -> Any:
        return user_pb2_grpc.UserServiceStub(self.backend.channel)

    async def login(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Sign in with an email and a password."""
        require_json(scope)
        body = parse(await read_body(scope, receive, MAX_BODY_BYTES))
        email, password = body.get("email"), body.get("password")
        if not isinstance(email, str) or not isinstance(password, str):
            raise GatewayError(grpc.StatusCode.INVALID_ARGUMENT, "email and password are needed")
        request = user_pb2.LoginRequest(email=email, password=password)
        try:
            answer = await self._stub().Login(
                request, metadata=call_metadata(scope), timeout=DEADLINE_SECONDS
            )
        except grpc.aio.AioRpcError as error:
            await send_rpc_error(send, error)
            return
        await self._send_tokens(scope, send, answer.tokens, answer.user)

    async def refresh(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Spend the cookie's refresh token for a new pair; the cookie gets the new one."""
        require_json(scope)
        await read_body(scope, receive, MAX_BODY_BYTES)
        token = read_cookie(scope, COOKIE)
        if not token:
            # Not an error for the page: "no session yet" is how every first visit starts.
            await send_json(send, {"signedIn": False})
            return
        request = user_pb2.RefreshTokenRequest(refresh_token=token)
        try:
            answer = await self._stub().RefreshToken(
                request, metadata=call_metadata(scope), timeout=DEADLINE_SECONDS
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                # A spent or revoked token: clear the cookie so the page shows sign-in.
                await self._clear(scope, send, {"signedIn": False})
                return
            await send_rpc_error(send, error)
            return
        await self._send_tokens(scope, send, answer.tokens)

    async def logout(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Revoke the session and clear the cookie."""
        require_json(scope)
        await read_body(scope, receive, MAX_BODY_BYTES)
        token = read_cookie(scope, COOKIE)
        if token:
            request = user_pb2.LogoutRequest(refresh_token=token)
            authorization = (header(scope, b"authorization") or b"").decode("latin-1")
            # The cookie goes whatever the backend says: signing out here must always work.
            with contextlib.suppress(grpc.aio.AioRpcError):
                await self._stub().Logout(
                    request,
                    metadata=call_metadata(scope, authorization or None),
                    timeout=DEADLINE_SECONDS,
                )
        await self._clear(scope, send, {"signedIn": False})

    async def _send_tokens(self, scope: Scope, send: Send, tokens: Any, user: Any = None) -> None:
        await send_json(send, _answer(tokens, user), (refresh_cookie(scope, tokens),))

    async def _clear(self, scope: Scope, send: Send, document: dict[str, Any]) -> None:
        await send_json(send, document, (cookie_header(scope, COOKIE, "", COOKIE_PATH, 0),))
