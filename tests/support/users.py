"""Drive UserService over real gRPC as distinct clients, and read the mail it sends."""

from __future__ import annotations

import email
import itertools
import re
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import grpc
from filmstudio.v1 import user_pb2, user_pb2_grpc

from services.common.server import StudioServer
from tests.support.studio import TEST_PASSWORD

_addresses = itertools.count(1)


@dataclass
class Client:
    """One browser: its own address (via the trusted-proxy header) and optional token."""

    channel: grpc.aio.Channel
    ip: str = field(default_factory=lambda: f"198.51.100.{next(_addresses) % 250 + 1}")
    token: str = ""

    @property
    def stub(self) -> user_pb2_grpc.UserServiceStub:
        """Return a UserService stub on the shared channel."""
        return user_pb2_grpc.UserServiceStub(self.channel)

    def metadata(self, token: str | None = None) -> tuple[tuple[str, str], ...]:
        """Return call metadata: the client address and its bearer token, if any."""
        token = self.token if token is None else token
        pairs = [("x-forwarded-for", self.ip), ("x-forwarded-user-agent", "pytest-browser/1.0")]
        if token:
            pairs.append(("authorization", f"Bearer {token}"))
        return tuple(pairs)

    async def call(self, method: str, request: Any, token: str | None = None) -> Any:
        """Call a UserService RPC by name."""
        return await getattr(self.stub, method)(request, metadata=self.metadata(token))

    async def register(self, email_address: str, password: str = TEST_PASSWORD) -> Any:
        """Register an account."""
        return await self.call(
            "RegisterUser",
            user_pb2.RegisterUserRequest(
                email=email_address, password=password, first_name="Ada", last_name="Lovelace"
            ),
        )

    async def login(self, email_address: str, password: str = TEST_PASSWORD) -> Any:
        """Sign in and remember the access token."""
        response = await self.call(
            "Login", user_pb2.LoginRequest(email=email_address, password=password)
        )
        self.token = response.tokens.access_token
        return response


async def error_of(awaitable: Any) -> grpc.aio.AioRpcError:
    """Await a call that must fail and return its error."""
    try:
        await awaitable
    except grpc.aio.AioRpcError as error:
        return error
    raise AssertionError("the call succeeded")


async def mails_to(server: StudioServer, address: str) -> list[Message]:
    """Deliver pending mail and return what the file outbox holds for an address, oldest first."""
    await server.app.outbox.flush()
    directory = Path(server.app.settings.var_dir) / "outbox"
    found = []
    for path in sorted(directory.glob("*.eml")) if directory.exists() else []:
        message = email.message_from_bytes(path.read_bytes())
        if message["To"] == address:
            found.append(message)
    return found


def token_in(message: Message) -> str:
    """Return the token of the link in a mail."""
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    match = re.search(r"\?token=([A-Za-z0-9_\-]+)", body.decode())
    assert match, "the mail carries a link with a token"
    return match.group(1)
