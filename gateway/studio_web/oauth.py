""" "Continue with Google/GitHub" for the page: start the sign-in, take the provider's redirect.

The backend makes the one-time state and checks PKCE; these routes bind the state to the browser
that started (an HttpOnly cookie compared on return: a link planted elsewhere cannot finish a
sign-in), and end like a password sign-in: the refresh token in the session cookie.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import parse_qs

import grpc
from filmstudio.v1 import user_pb2, user_pb2_grpc

from gateway.asgi import Receive, Scope, Send, read_body, send_bytes
from gateway.errors import GatewayError
from gateway.studio_web.http import (
    MAX_BODY_BYTES,
    SECURITY_HEADERS,
    Backend,
    call_metadata,
    parse,
    require_json,
    send_json,
    send_rpc_error,
)
from gateway.studio_web.session import cookie_header, read_cookie, refresh_cookie

START = "/app/session/oauth/start"
CALLBACK = "/auth/callback"  # the redirect URIs' path: GOOGLE_REDIRECT_URI, GITHUB_REDIRECT_URI
STATE_COOKIE = "filmstudio_oauth_state"
STATE_MAX_AGE = 600
PROVIDERS = {
    "google": user_pb2.IDENTITY_PROVIDER_GOOGLE,
    "github": user_pb2.IDENTITY_PROVIDER_GITHUB,
}
DEADLINE_SECONDS = 30


class OAuthRoutes:
    """POST /app/session/oauth/start and GET /auth/callback/{google,github}."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _stub(self) -> Any:
        return user_pb2_grpc.UserServiceStub(self.backend.channel)

    def callbacks(self) -> dict[str, Any]:
        """Return the GET callback routes by path."""
        return {f"{CALLBACK}/{name}": self._callback(name) for name in PROVIDERS}

    async def start(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Ask the backend for the provider's URL; remember its state in this browser."""
        require_json(scope)
        provider = parse(await read_body(scope, receive, MAX_BODY_BYTES)).get("provider")
        if provider not in PROVIDERS:
            raise GatewayError(grpc.StatusCode.INVALID_ARGUMENT, "provider: google or github")
        request = user_pb2.StartOAuthLoginRequest(provider=PROVIDERS[provider])
        try:
            answer = await self._stub().StartOAuthLogin(
                request, metadata=call_metadata(scope), timeout=DEADLINE_SECONDS
            )
        except grpc.aio.AioRpcError as error:
            await send_rpc_error(send, error)
            return
        # Lax, not Strict: the provider's redirect back is a cross-site top-level navigation.
        state = cookie_header(scope, STATE_COOKIE, answer.state, CALLBACK, STATE_MAX_AGE, "Lax")
        await send_json(send, {"authorizationUrl": answer.authorization_url}, (state,))

    def _callback(self, provider: str) -> Any:
        async def callback(scope: Scope, receive: Receive, send: Send) -> None:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            code = (query.get("code") or [""])[0]
            state = (query.get("state") or [""])[0]
            expected = read_cookie(scope, STATE_COOKIE)
            forget = cookie_header(scope, STATE_COOKIE, "", CALLBACK, 0, "Lax")
            if not code or not state or not hmac.compare_digest(state, expected):
                await _redirect(send, "/#/oauth-failed", forget)
                return
            request = user_pb2.CompleteOAuthLoginRequest(
                provider=PROVIDERS[provider], code=code, state=state
            )
            try:
                answer = await self._stub().CompleteOAuthLogin(
                    request, metadata=call_metadata(scope), timeout=DEADLINE_SECONDS
                )
            except grpc.aio.AioRpcError:
                await _redirect(send, "/#/oauth-failed", forget)
                return
            await _redirect(send, "/#/projects", forget, refresh_cookie(scope, answer.tokens))

        return callback


def hand_to_page(fragment: str) -> Any:
    """Return a GET route that sends a provider's redirect on to the page, query and all.

    Used for connecting a YouTube channel: completing it needs the user's access token, which
    only the page holds, so the page finishes it (the backend bound the state to the user).
    """

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        await _redirect(send, f"{fragment}?{query}")

    return route


async def _redirect(send: Send, location: str, *cookies: tuple[bytes, bytes]) -> None:
    headers = ((b"location", location.encode()), *cookies, *SECURITY_HEADERS)
    await send_bytes(send, 303, b"", b"text/plain", headers)
