"""A signed-in connection to a studio: stubs, the bearer token, refresh when it expires."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from filmstudio.v1 import (
    ai_job_pb2_grpc,
    credits_pb2_grpc,
    project_pb2_grpc,
    user_pb2,
    user_pb2_grpc,
)

from services.client_cli import credentials
from services.client_cli.credentials import StoredSession

T = TypeVar("T")
# Refresh a little before expiry: a token that expires in flight fails the call.
EXPIRY_MARGIN_SECONDS = 30.0
DEADLINE_SECONDS = 30.0


class NotSignedIn(Exception):
    """No session is stored for this server."""


class Client:
    """Stubs for one server, with the stored session's token on every call."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.channel = grpc.insecure_channel(server)
        self.users: Any = user_pb2_grpc.UserServiceStub(self.channel)
        self.projects: Any = project_pb2_grpc.ProjectServiceStub(self.channel)
        self.jobs: Any = ai_job_pb2_grpc.AIJobServiceStub(self.channel)
        self.credits: Any = credits_pb2_grpc.CreditsServiceStub(self.channel)
        self._session = credentials.load(server)

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()

    def store_tokens(self, tokens: user_pb2.AuthTokens, email: str = "") -> None:
        """Keep a new token pair in memory and on disk."""
        previous = self._session.email if self._session else ""
        self._session = StoredSession(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            access_expires_at=tokens.access_token_expire_time.ToSeconds() or time.time() + 60,
            email=email or previous,
        )
        credentials.save(self.server, self._session)

    @property
    def session(self) -> StoredSession:
        """Return the stored session or raise NotSignedIn."""
        if self._session is None:
            raise NotSignedIn(self.server)
        return self._session

    def refresh(self) -> None:
        """Spend the refresh token for a new pair (it rotates on every use)."""
        request = user_pb2.RefreshTokenRequest(refresh_token=self.session.refresh_token)
        try:
            answer = self.users.RefreshToken(request, timeout=DEADLINE_SECONDS)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                credentials.forget(self.server)  # spent or revoked: a new login is needed
                self._session = None
            raise
        self.store_tokens(answer.tokens)

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Return the call metadata with a fresh bearer token, refreshing first if needed."""
        if self.session.access_expires_at - EXPIRY_MARGIN_SECONDS < time.time():
            self.refresh()
        return (("authorization", f"Bearer {self.session.access_token}"),)

    def call(self, method: Callable[..., T], request: Any, **kwargs: Any) -> T:
        """Call a unary RPC as the signed-in user; on UNAUTHENTICATED refresh once and retry."""
        kwargs.setdefault("timeout", DEADLINE_SECONDS)
        try:
            return method(request, metadata=self.metadata(), **kwargs)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAUTHENTICATED:
                raise
        self.refresh()  # the access token was refused early (a revoked or rotated secret)
        return method(request, metadata=self.metadata(), **kwargs)


def resource(kind: str, value: str) -> str:
    """Return `kind/value`, accepting either a bare id or the full resource name."""
    return value if value.startswith(f"{kind}/") else f"{kind}/{value}"
