"""OAuth sign-ins and links are audited (against the local server speaking Google's protocol)."""

from __future__ import annotations

import uuid

import pytest
from filmstudio.v1 import user_pb2

from services.admin.admin_service import AdminService, AuditFilter
from tests.support.oauth_fixtures import fresh_oauth_provider, oauth_provider  # noqa: F401
from tests.support.oauth_provider import GoogleUser, authorize
from tests.support.studio import running_studio, studio_settings
from tests.support.users import Client


@pytest.fixture(scope="module")
async def oauth_live(tmp_path_factory, postgres_url, oauth_provider):  # noqa: F811
    settings = studio_settings(
        tmp_path_factory.mktemp("var"), postgres_url, **oauth_provider.settings_overrides()
    )
    async with running_studio(settings) as (server, channel):
        yield server, channel


async def _sign_in(client: Client) -> user_pb2.CompleteOAuthLoginResponse:
    provider = user_pb2.IDENTITY_PROVIDER_GOOGLE
    started = await client.call(
        "StartOAuthLogin", user_pb2.StartOAuthLoginRequest(provider=provider)
    )
    code, state = await authorize(started.authorization_url)
    return await client.call(
        "CompleteOAuthLogin",
        user_pb2.CompleteOAuthLoginRequest(provider=provider, code=code, state=state),
    )


async def test_the_first_google_sign_in_links_and_every_one_is_a_login(
    oauth_live,
    fresh_oauth_provider,  # noqa: F811
) -> None:
    server, channel = oauth_live
    address = f"g-{uuid.uuid4().hex[:8]}@example.com"
    fresh_oauth_provider.google_user = GoogleUser(
        sub=uuid.uuid4().hex, email=address, email_verified=True, given_name="Ada"
    )
    client = Client(channel)
    first = await _sign_in(client)
    await _sign_in(client)

    page = await server.app.get(AdminService).list_audit_log(AuditFilter(target=first.user.name))
    assert [e.action for e in page.entries] == ["auth.login", "auth.login", "auth.oauth_link"]
    link = page.entries[-1]
    assert link.details["provider"] == "google"
    assert link.details["new_account"] is True
    assert page.entries[0].details["method"] == "google"
    assert page.entries[0].details["ip"] == client.ip
