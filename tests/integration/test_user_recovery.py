"""Email verification and password reset: single use, short-lived, mailed through the outbox."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import grpc
import pytest
from aiosmtpd.controller import Controller
from filmstudio.v1 import user_pb2
from sqlalchemy import update

from services.common.db import utcnow
from services.user.models import OneTimeTokenRow
from services.user.one_time_tokens import token_hash
from tests.support.studio import running_studio, studio_settings
from tests.support.users import Client, error_of, mails_to, token_in

NEW_PASSWORD = "a brand new passphrase"


def _email() -> str:
    return f"recovery-{uuid.uuid4().hex[:10]}@example.com"


async def _reset_token(live, address: str) -> str:
    client = Client(live[1])
    await client.call("RequestPasswordReset", user_pb2.RequestPasswordResetRequest(email=address))
    mails = [m for m in await mails_to(live[0], address) if "Reset" in m["Subject"]]
    return token_in(mails[-1])


def _reset(token: str, password: str = NEW_PASSWORD) -> user_pb2.ResetPasswordRequest:
    return user_pb2.ResetPasswordRequest(token=token, new_password=password)


async def test_registration_mails_a_single_use_verification_link(live) -> None:
    client, address = Client(live[1]), _email()
    await client.register(address)
    (mail,) = await mails_to(live[0], address)
    assert mail["Subject"] == "Confirm your FilmStudio email address"
    assert "http://127.0.0.1:8080/verify-email?token=" in mail.get_payload()
    token = token_in(mail)
    verified = await client.call("VerifyEmail", user_pb2.VerifyEmailRequest(token=token))
    assert verified.user.email_verified
    again = await error_of(client.call("VerifyEmail", user_pb2.VerifyEmailRequest(token=token)))
    assert again.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_registering_a_taken_address_mails_its_owner_instead(live) -> None:
    client, address = Client(live[1]), _email()
    await client.register(address)
    await client.register(address)
    subjects = [m["Subject"] for m in await mails_to(live[0], address)]
    assert subjects == [
        "Confirm your FilmStudio email address",
        "You already have a FilmStudio account",
    ]


async def test_reset_requests_answer_the_same_for_unknown_addresses(live) -> None:
    client, address = Client(live[1]), _email()
    await client.register(address)
    known = await client.call(
        "RequestPasswordReset", user_pb2.RequestPasswordResetRequest(email=address)
    )
    unknown = await client.call(
        "RequestPasswordReset", user_pb2.RequestPasswordResetRequest(email=_email())
    )
    assert known == unknown


async def test_a_reset_token_works_once_ends_every_session_and_notifies(live) -> None:
    client, address = Client(live[1]), _email()
    await client.register(address)
    await client.login(address)
    token = await _reset_token(live, address)
    async with live[0].app.database.session() as db:
        stored = await db.get(OneTimeTokenRow, token_hash(token))
    assert stored is not None, "only the hash of the token is stored"

    await client.call("ResetPassword", _reset(token))
    dead = await error_of(client.call("GetMe", user_pb2.GetMeRequest()))
    assert dead.code() == grpc.StatusCode.UNAUTHENTICATED
    await Client(live[1]).login(address, NEW_PASSWORD)
    reuse = await error_of(client.call("ResetPassword", _reset(token, "yet another passphrase")))
    assert reuse.code() == grpc.StatusCode.INVALID_ARGUMENT
    subjects = [m["Subject"] for m in await mails_to(live[0], address)]
    assert subjects[-1] == "Your FilmStudio password was reset"


async def test_an_expired_reset_token_is_refused(live) -> None:
    client, address = Client(live[1]), _email()
    await client.register(address)
    token = await _reset_token(live, address)
    async with live[0].app.database.session() as db, db.begin():
        await db.execute(
            update(OneTimeTokenRow)
            .where(OneTimeTokenRow.token_hash == token_hash(token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    error = await error_of(client.call("ResetPassword", _reset(token)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_reset_tokens_expire_after_thirty_minutes(live) -> None:
    client, address = Client(live[1]), _email()
    await client.register(address)
    token = await _reset_token(live, address)
    async with live[0].app.database.session() as db:
        row = await db.get(OneTimeTokenRow, token_hash(token))
    assert row.expires_at - row.created_at == timedelta(minutes=30)


async def test_a_reset_token_dies_when_the_password_changes(live) -> None:
    client, address = Client(live[1]), _email()
    await client.register(address)
    token = await _reset_token(live, address)
    await client.login(address)
    await client.call(
        "ChangePassword",
        user_pb2.ChangePasswordRequest(
            current_password="correct horse battery staple", new_password=NEW_PASSWORD
        ),
    )
    error = await error_of(client.call("ResetPassword", _reset(token, "and another passphrase")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_made_up_reset_token_is_refused(live) -> None:
    error = await error_of(Client(live[1]).call("ResetPassword", _reset("x" * 43)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server(unused_tcp_port):
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=unused_tcp_port)
    controller.start()
    yield inbox, unused_tcp_port
    controller.stop()


async def test_mail_goes_through_smtp_when_smtp_url_is_set(
    tmp_path, postgres_url, smtp_server
) -> None:
    inbox, port = smtp_server
    settings = studio_settings(tmp_path, postgres_url, SMTP_URL=f"smtp://127.0.0.1:{port}")
    async with running_studio(settings) as (server, channel):
        address = _email()
        await Client(channel).register(address)
        for _ in range(50):
            await server.app.outbox.flush()
            if inbox.messages:
                break
            await asyncio.sleep(0.05)
    (sender, recipients, content) = inbox.messages[0]
    assert recipients == [address]
    assert b"verify-email?token=" in content
    assert "no-reply@filmstudio.local" in sender
    assert not (tmp_path / "outbox").exists()
