"""The audit log over real gRPC: which actions and security events it records, and ListAuditLog."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from filmstudio.v1 import admin_pb2, admin_pb2_grpc, user_pb2
from google.protobuf import timestamp_pb2
from sqlalchemy import select

from services.common.audit import AuditRow
from services.common.audit_verify import verify
from services.common.caller import SYSTEM
from services.common.server import StudioServer
from services.project.project_service import ProjectService
from services.user.user_service import UserService
from tests.support.studio import TEST_PASSWORD, bearer, running_studio, signed_in, studio_settings
from tests.support.users import Client, error_of, mails_to, token_in


@dataclass
class Console:
    server: StudioServer
    channel: grpc.aio.Channel
    admin: tuple[tuple[str, str], ...]
    admin_name: str

    @property
    def stub(self) -> admin_pb2_grpc.AdminServiceStub:
        return admin_pb2_grpc.AdminServiceStub(self.channel)

    async def entries(self, **filters: object) -> list[admin_pb2.AuditEntry]:
        """Return every entry matching the filters, walking the pages."""
        request = admin_pb2.ListAuditLogRequest(page_size=100, **filters)  # type: ignore[arg-type]
        found: list[admin_pb2.AuditEntry] = []
        while True:
            page = await self.stub.ListAuditLog(request, metadata=self.admin)
            found += page.entries
            if not page.next_page_token:
                return found
            request.page_token = page.next_page_token


@pytest.fixture(scope="module")
async def console(tmp_path_factory, postgres_url):
    settings = studio_settings(tmp_path_factory.mktemp("var"), postgres_url)
    async with running_studio(settings) as (server, channel):
        email = f"auditor-{uuid.uuid4().hex[:6]}@example.com"
        token = await signed_in(server, email, role="admin")
        admin = await server.app.get(UserService).get_user_by_email(email)
        yield Console(server, channel, bearer(token), f"users/{admin.id}")


async def _new_user(console: Console) -> tuple[Client, str, str]:
    client = Client(console.channel)
    email = f"audited-{uuid.uuid4().hex[:8]}@example.com"
    await client.register(email)
    user = await console.server.app.get(UserService).get_user_by_email(email)
    return client, email, f"users/{user.id}"


async def test_admin_actions_are_recorded_with_actor_target_and_reason(console) -> None:
    _, _, name = await _new_user(console)
    await console.stub.SuspendUser(
        admin_pb2.SuspendUserRequest(name=name, reason="fraud"), metadata=console.admin
    )
    await console.stub.ReactivateUser(
        admin_pb2.ReactivateUserRequest(name=name, reason="cleared"), metadata=console.admin
    )
    grant = admin_pb2.GrantCreditsRequest(
        user=name, amount=75, reason="goodwill", request_id=str(uuid.uuid4())
    )
    await console.stub.GrantCredits(grant, metadata=console.admin)
    await console.stub.GrantCredits(grant, metadata=console.admin)  # a replay is no new grant
    projects = console.server.app.get(ProjectService)
    owner = int(name.split("/")[1])
    decided = []
    for verdict in ("approve", "reject"):
        project = await projects.create_project(owner, f"To {verdict}", "INT. ROOM - DAY\n\nHi.\n")
        for status in ("queued", "generating", "completed", "pending_review"):
            await projects.update_project_status(project.id, status, SYSTEM)
        decided.append(f"projects/{project.id}")
    await console.stub.ApproveProject(
        admin_pb2.ApproveProjectRequest(name=decided[0], note="fine"), metadata=console.admin
    )
    await console.stub.RejectProject(
        admin_pb2.RejectProjectRequest(name=decided[1], reason="a logo"), metadata=console.admin
    )

    on_user = await console.entries(target=name, actor=console.admin_name)
    assert [e.action for e in on_user] == ["credits.grant", "user.reactivate", "user.suspend"]
    assert on_user[2].details["reason"] == "fraud"
    assert on_user[0].details["amount"] == 75
    assert all(e.request_id for e in on_user)  # the admin's call, correlatable with the logs
    approved = await console.entries(target=decided[0])
    rejected = await console.entries(target=decided[1])
    assert [e.action for e in approved] == ["project.approve"]
    assert [(e.action, e.details["reason"]) for e in rejected] == [("project.reject", "a logo")]
    assert rejected[0].actor == console.admin_name
    assert rejected[0].details["owner"] == name


async def test_logins_failed_logins_and_password_changes_are_recorded(console) -> None:
    client, email, name = await _new_user(console)
    wrong = await error_of(client.login(email, password="not the password at all"))
    assert wrong.code() == grpc.StatusCode.UNAUTHENTICATED
    await client.login(email)
    await client.call(
        "ChangePassword",
        user_pb2.ChangePasswordRequest(
            current_password=TEST_PASSWORD, new_password="a brand new passphrase 42"
        ),
    )
    entries = await console.entries(target=name)
    assert [e.action for e in entries] == [
        "auth.password_change",
        "auth.login",
        "auth.login_failed",
    ]
    changed, login, failed = entries
    assert failed.actor == "anonymous"
    assert failed.details["why"] == "wrong password"
    assert failed.details["ip"] == client.ip
    assert login.actor == name
    assert login.details["method"] == "password"
    assert changed.actor == name
    assert changed.sequence > login.sequence > failed.sequence
    assert login.previous_hash == failed.hash  # consecutive: the chain links them
    assert len(login.hash) == 64

    stranger = f"nobody-{uuid.uuid4().hex[:6]}@example.com"
    await error_of(client.login(stranger))
    unknown = [
        e
        for e in await console.entries(action="auth.login_failed", actor="anonymous")
        if e.details["email"] == stranger
    ]
    assert len(unknown) == 1
    assert unknown[0].target == ""
    assert unknown[0].details["why"] == "unknown account"


async def test_password_resets_are_recorded(console) -> None:
    client, email, name = await _new_user(console)
    await client.call("RequestPasswordReset", user_pb2.RequestPasswordResetRequest(email=email))
    token = token_in((await mails_to(console.server, email))[-1])
    await client.call(
        "ResetPassword",
        user_pb2.ResetPasswordRequest(token=token, new_password="another fresh passphrase 7"),
    )
    entries = await console.entries(target=name)
    assert [e.action for e in entries] == ["auth.password_reset", "auth.password_reset_request"]
    assert entries[1].details["ip"] == client.ip


async def test_list_audit_log_filters_by_time_and_pages_with_sealed_tokens(console) -> None:
    _, _, name = await _new_user(console)
    start = datetime.now(UTC) - timedelta(seconds=1)
    for i in range(5):
        await console.stub.GrantCredits(
            admin_pb2.GrantCreditsRequest(
                user=name, amount=i + 1, reason=f"grant {i}", request_id=str(uuid.uuid4())
            ),
            metadata=console.admin,
        )
    since = timestamp_pb2.Timestamp()
    since.FromDatetime(start)
    request = admin_pb2.ListAuditLogRequest(
        target=name, action="credits.grant", start_time=since, page_size=2
    )
    pages: list[list[int]] = []
    while True:
        page = await console.stub.ListAuditLog(request, metadata=console.admin)
        pages.append([int(e.details["amount"]) for e in page.entries])
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
        token = page.next_page_token
    assert pages == [[5, 4], [3, 2], [1]]  # newest first
    before = timestamp_pb2.Timestamp()
    before.FromDatetime(start)
    earlier = await console.stub.ListAuditLog(
        admin_pb2.ListAuditLogRequest(target=name, end_time=before), metadata=console.admin
    )
    assert not earlier.entries
    other_filter = await error_of(
        console.stub.ListAuditLog(
            admin_pb2.ListAuditLogRequest(target=name, page_token=token), metadata=console.admin
        )
    )
    assert other_filter.code() == grpc.StatusCode.INVALID_ARGUMENT
    backwards = await error_of(
        console.stub.ListAuditLog(
            admin_pb2.ListAuditLogRequest(start_time=since, end_time=before),
            metadata=console.admin,
        )
    )
    assert backwards.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_the_live_chain_verifies_clean(console) -> None:
    report = await verify(console.server.app.database)
    assert report.clean, report.problem
    assert report.rows == report.head_seq > 0


async def test_a_lockout_is_recorded_once_when_it_starts(console) -> None:
    client, email, name = await _new_user(console)
    for _ in range(6):  # the fifth failure locks the account; the sixth is refused unchecked
        await error_of(client.login(email, password="not the password at all"))
    lockouts = await console.entries(target=name, action="auth.lockout")
    assert len(lockouts) == 1
    (lockout,) = lockouts
    assert lockout.actor == "anonymous"
    assert lockout.details["scope"] == "account"
    assert lockout.details["ip"] == client.ip
    assert datetime.fromisoformat(lockout.details["until"]) > datetime.now(UTC)
    assert len(await console.entries(target=name, action="auth.login_failed")) == 5


async def test_logout_and_revoking_a_session_are_recorded_once(console) -> None:
    client, email, name = await _new_user(console)
    first = await client.login(email)
    await client.login(email)  # a second device; the client now speaks as it
    sessions = await client.call(
        "ListSessions", user_pb2.ListSessionsRequest(parent=name), token=client.token
    )
    older = sessions.sessions[-1].name
    await client.call(
        "Logout",
        user_pb2.LogoutRequest(refresh_token=first.tokens.refresh_token),
        token=first.tokens.access_token,
    )
    newest = sessions.sessions[0].name
    request = user_pb2.RevokeSessionRequest(name=newest)
    await client.call("RevokeSession", request, token=client.token)
    entries = await console.entries(target=name)
    ended = [e for e in entries if e.action in ("auth.logout", "auth.session_revoke")]
    assert [e.action for e in ended] == ["auth.session_revoke", "auth.logout"]
    assert [e.details["session"] for e in ended] == [newest.split("/")[-1], older.split("/")[-1]]
    assert all(e.actor == name for e in ended)


async def test_a_reused_refresh_token_is_recorded_with_its_session(tmp_path, postgres_url) -> None:
    settings = studio_settings(tmp_path, postgres_url, REFRESH_REUSE_GRACE=0)
    async with running_studio(settings) as (server, channel):
        client = Client(channel)
        email = f"reused-{uuid.uuid4().hex[:8]}@example.com"
        await client.register(email)
        tokens = (await client.login(email)).tokens
        spend = user_pb2.RefreshTokenRequest(refresh_token=tokens.refresh_token)
        await client.call("RefreshToken", spend)
        reused = await error_of(client.call("RefreshToken", spend))
        assert reused.code() == grpc.StatusCode.UNAUTHENTICATED
        user = await server.app.get(UserService).get_user_by_email(email)
        query = select(AuditRow).where(
            AuditRow.action == "auth.refresh_reuse", AuditRow.target == f"users/{user.id}"
        )
        async with server.app.database.reader() as db:
            rows = list((await db.scalars(query)).all())
        assert len(rows) == 1
        assert rows[0].actor == "anonymous"
        details = json.loads(rows[0].details)
        assert details["ip"] == client.ip
        assert details["session"]
        assert (await verify(server.app.database)).clean
