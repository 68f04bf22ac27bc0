"""Google and GitHub sign-in over real gRPC, against a local server speaking both protocols."""

from __future__ import annotations

import uuid

import grpc
import pytest
from filmstudio.v1 import user_pb2
from sqlalchemy import update

from services.user.models import OAuthStateRow
from services.user.oauth import new_pkce_pair
from services.user.oauth_login import state_hash
from tests.support.oauth_fixtures import fresh_oauth_provider, oauth_provider  # noqa: F401
from tests.support.oauth_provider import GitHubEmail, GitHubUser, GoogleUser, authorize
from tests.support.studio import running_studio, studio_settings
from tests.support.users import Client, error_of

GOOGLE = user_pb2.IDENTITY_PROVIDER_GOOGLE
GITHUB = user_pb2.IDENTITY_PROVIDER_GITHUB


@pytest.fixture(scope="module")
async def oauth_live(tmp_path_factory, postgres_url, oauth_provider):  # noqa: F811
    settings = studio_settings(
        tmp_path_factory.mktemp("var"), postgres_url, **oauth_provider.settings_overrides()
    )
    async with running_studio(settings) as (server, channel):
        yield server, channel


@pytest.fixture
def fake(fresh_oauth_provider):  # noqa: F811
    return fresh_oauth_provider


def _unique_google(fake, *, verified: bool = True, email: str = "") -> str:
    address = email or f"g-{uuid.uuid4().hex[:8]}@example.com"
    fake.google_user = GoogleUser(
        sub=uuid.uuid4().hex, email=address, email_verified=verified, given_name="Ada"
    )
    return address.lower()


async def _sign_in(client: Client, provider: int) -> user_pb2.CompleteOAuthLoginResponse:
    started = await client.call(
        "StartOAuthLogin", user_pb2.StartOAuthLoginRequest(provider=provider)
    )
    code, state = await authorize(started.authorization_url)
    assert state == started.state
    return await client.call(
        "CompleteOAuthLogin",
        user_pb2.CompleteOAuthLoginRequest(provider=provider, code=code, state=state),
    )


async def test_google_sign_in_creates_then_finds_the_account(oauth_live, fake) -> None:
    client = Client(oauth_live[1])
    address = _unique_google(fake)
    first = await _sign_in(client, GOOGLE)
    assert first.created
    assert first.user.email == address
    assert first.user.email_verified
    await client.call("GetMe", user_pb2.GetMeRequest(), token=first.tokens.access_token)
    again = await _sign_in(client, GOOGLE)
    assert not again.created
    assert again.user.name == first.user.name


async def test_the_authorization_url_carries_pkce_state_and_the_exact_redirect(
    oauth_live, fake
) -> None:
    client = Client(oauth_live[1])
    started = await client.call("StartOAuthLogin", user_pb2.StartOAuthLoginRequest(provider=GOOGLE))
    url = started.authorization_url
    assert "code_challenge_method=S256" in url
    assert f"state={started.state}" in url
    assert "nonce=" in url
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fauth%2Fcallback%2Fgoogle" in url
    github = await client.call("StartOAuthLogin", user_pb2.StartOAuthLoginRequest(provider=GITHUB))
    assert "auth%2Fcallback%2Fgithub" in github.authorization_url


async def test_a_wrong_or_reused_state_is_refused(oauth_live, fake) -> None:
    client = Client(oauth_live[1])
    _unique_google(fake)
    started = await client.call("StartOAuthLogin", user_pb2.StartOAuthLoginRequest(provider=GOOGLE))
    code, state = await authorize(started.authorization_url)
    wrong = await error_of(
        client.call(
            "CompleteOAuthLogin",
            user_pb2.CompleteOAuthLoginRequest(provider=GOOGLE, code=code, state="forged-state"),
        )
    )
    assert wrong.code() == grpc.StatusCode.UNAUTHENTICATED
    complete = user_pb2.CompleteOAuthLoginRequest(provider=GOOGLE, code=code, state=state)
    await client.call("CompleteOAuthLogin", complete)
    reused = await error_of(client.call("CompleteOAuthLogin", complete))
    assert reused.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_state_from_one_provider_is_refused_by_the_other(oauth_live, fake) -> None:
    client = Client(oauth_live[1])
    started = await client.call("StartOAuthLogin", user_pb2.StartOAuthLoginRequest(provider=GOOGLE))
    code, state = await authorize(started.authorization_url)
    mixed = user_pb2.CompleteOAuthLoginRequest(provider=GITHUB, code=code, state=state)
    error = await error_of(client.call("CompleteOAuthLogin", mixed))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_wrong_pkce_verifier_fails_the_exchange(oauth_live, fake) -> None:
    server, channel = oauth_live
    client = Client(channel)
    _unique_google(fake)
    started = await client.call("StartOAuthLogin", user_pb2.StartOAuthLoginRequest(provider=GOOGLE))
    code, state = await authorize(started.authorization_url)
    async with server.app.database.session() as db, db.begin():
        await db.execute(
            update(OAuthStateRow)
            .where(OAuthStateRow.state_hash == state_hash(state))
            .values(code_verifier=new_pkce_pair()[0])
        )
    error = await error_of(
        client.call(
            "CompleteOAuthLogin",
            user_pb2.CompleteOAuthLoginRequest(provider=GOOGLE, code=code, state=state),
        )
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_an_id_token_signed_with_another_key_is_refused(oauth_live, fake) -> None:
    _unique_google(fake)
    fake.id_token_foreign_key = True
    error = await error_of(_sign_in(Client(oauth_live[1]), GOOGLE))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_google_links_to_an_existing_verified_account(oauth_live, fake) -> None:
    server, channel = oauth_live
    client = Client(channel)
    address = f"linked-{uuid.uuid4().hex[:8]}@example.com"
    await client.register(address)
    password_login = await client.login(address)
    async with server.app.database.session() as db, db.begin():
        from services.user.models import UserRow

        await db.execute(
            update(UserRow).where(UserRow.email == address).values(email_verified=True)
        )
    _unique_google(fake, email=address)
    linked = await _sign_in(Client(channel), GOOGLE)
    assert not linked.created
    assert linked.user.name == password_login.user.name
    await Client(channel).login(address)  # the password still works


async def test_an_unverified_squatter_account_loses_its_password_on_link(oauth_live, fake) -> None:
    channel = oauth_live[1]
    squatter = Client(channel)
    address = f"squat-{uuid.uuid4().hex[:8]}@example.com"
    await squatter.register(address)
    await squatter.login(address)
    _unique_google(fake, email=address)
    owner = await _sign_in(Client(channel), GOOGLE)
    assert owner.user.email_verified
    dead = await error_of(squatter.call("GetMe", user_pb2.GetMeRequest()))
    assert dead.code() == grpc.StatusCode.UNAUTHENTICATED
    refused = await error_of(Client(channel).login(address))
    assert refused.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_an_unverified_provider_email_never_signs_in(oauth_live, fake) -> None:
    _unique_google(fake, verified=False)
    error = await error_of(_sign_in(Client(oauth_live[1]), GOOGLE))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_github_sign_in_uses_the_primary_verified_email(oauth_live, fake) -> None:
    address = f"Octo-{uuid.uuid4().hex[:8]}@Example.com"
    fake.github_user = GitHubUser(
        id=int(uuid.uuid4().int % 10**9),
        emails=[
            GitHubEmail("other@example.com", primary=False, verified=True),
            GitHubEmail(address, primary=True, verified=True),
        ],
    )
    result = await _sign_in(Client(oauth_live[1]), GITHUB)
    assert result.created
    assert result.user.email == address.lower()
    assert (result.user.first_name, result.user.last_name) == ("Mona", "Lisa Octocat")


async def test_an_unconfigured_provider_is_a_failed_precondition(tmp_path, postgres_url) -> None:
    async with running_studio(studio_settings(tmp_path, postgres_url)) as (_, channel):
        client = Client(channel)
        error = await error_of(
            client.call("StartOAuthLogin", user_pb2.StartOAuthLoginRequest(provider=GOOGLE))
        )
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        unknown = await error_of(
            client.call("StartOAuthLogin", user_pb2.StartOAuthLoginRequest(provider=0))
        )
        assert unknown.code() == grpc.StatusCode.INVALID_ARGUMENT
