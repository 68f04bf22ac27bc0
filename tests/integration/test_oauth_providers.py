"""Google and GitHub sign-in against real local HTTP providers: PKCE, id tokens, failures."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import httpx
import pytest

from services.common import errors
from services.common.config import ConfigError, Settings, load_settings
from services.user.oauth import (
    OAUTH_FAILED,
    GitHubProvider,
    GoogleProvider,
    OAuthIdentity,
    OAuthProvider,
    new_pkce_pair,
    pkce_challenge,
    providers_from_settings,
)
from services.user.oauth_google import GOOGLE_ISSUER
from tests.support.oauth_fixtures import fresh_oauth_provider, oauth_provider  # noqa: F401
from tests.support.oauth_provider import (
    AuthorizationError,
    FakeOAuthProvider,
    GitHubEmail,
    GitHubUser,
    GoogleUser,
    authorize,
    unused_port_url,
)

NONCE = "n-0S6_WzA2Mj"
STATE = "af0ifjsldkj"


@pytest.fixture
def fake(fresh_oauth_provider: FakeOAuthProvider) -> FakeOAuthProvider:  # noqa: F811
    """The fake providers, reset for this test."""
    return fresh_oauth_provider


def settings_for(fake: FakeOAuthProvider, **extra: Any) -> Settings:
    """Return test settings that point both providers at the fake."""
    return Settings(**{"FILMSTUDIO_ENV": "test", **fake.settings_overrides(), **extra})


def google(fake: FakeOAuthProvider, **options: Any) -> GoogleProvider:
    """Return a GoogleProvider configured for the fake, with constructor options on top."""
    o = fake.settings_overrides()
    values: dict[str, Any] = {
        "client_id": o["GOOGLE_CLIENT_ID"],
        "client_secret": o["GOOGLE_CLIENT_SECRET"],
        "redirect_uri": o["GOOGLE_REDIRECT_URI"],
        "authorize_url": o["GOOGLE_AUTHORIZE_URL"],
        "token_url": o["GOOGLE_TOKEN_URL"],
        "jwks_url": o["GOOGLE_JWKS_URL"],
        "issuer": o["GOOGLE_ISSUER"],
    }
    return GoogleProvider(**{**values, **options})


def github(fake: FakeOAuthProvider, **options: Any) -> GitHubProvider:
    """Return a GitHubProvider configured for the fake, with constructor options on top."""
    o = fake.settings_overrides()
    values: dict[str, Any] = {
        "client_id": o["GITHUB_CLIENT_ID"],
        "client_secret": o["GITHUB_CLIENT_SECRET"],
        "redirect_uri": o["GITHUB_REDIRECT_URI"],
        "authorize_url": o["GITHUB_AUTHORIZE_URL"],
        "token_url": o["GITHUB_TOKEN_URL"],
        "api_url": o["GITHUB_API_URL"],
    }
    return GitHubProvider(**{**values, **options})


async def sign_in(
    provider: OAuthProvider, *, verifier: str | None = None, nonce: str = NONCE
) -> OAuthIdentity:
    """Run the whole flow: authorize URL, consent at the fake, code exchange."""
    real_verifier, challenge = new_pkce_pair()
    url = provider.authorization_url(state=STATE, code_challenge=challenge, nonce=NONCE)
    code, state = await authorize(url)
    assert state == STATE
    return await provider.exchange(code=code, code_verifier=verifier or real_verifier, nonce=nonce)


async def assert_oauth_failed(provider: OAuthProvider, **kwargs: Any) -> None:
    with pytest.raises(errors.Unauthenticated) as caught:
        await sign_in(provider, **kwargs)
    assert caught.value.reason == OAUTH_FAILED
    assert caught.value.metadata == {"provider": provider.name}


# --- PKCE and authorization URLs --------------------------------------------------------------


def test_pkce_pair_is_a_fresh_rfc7636_verifier_with_its_s256_challenge() -> None:
    verifier, challenge = new_pkce_pair()
    assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", verifier)
    assert challenge == pkce_challenge(verifier)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", challenge)
    assert new_pkce_pair()[0] != verifier
    # The RFC 7636 appendix B example.
    assert (
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_google_authorization_url_carries_s256_challenge_state_nonce_and_exact_redirect(
    fake: FakeOAuthProvider,
) -> None:
    provider = google(fake)
    url = httpx.URL(provider.authorization_url(state=STATE, code_challenge="c" * 43, nonce=NONCE))
    assert str(url.copy_with(query=None)) == fake.settings_overrides()["GOOGLE_AUTHORIZE_URL"]
    assert dict(url.params) == {
        "client_id": fake.google_client.client_id,
        "redirect_uri": "http://127.0.0.1:8080/auth/callback/google",
        "response_type": "code",
        "scope": "openid email profile",
        "state": STATE,
        "nonce": NONCE,
        "code_challenge": "c" * 43,
        "code_challenge_method": "S256",
    }


def test_github_authorization_url_carries_s256_challenge_state_and_exact_redirect(
    fake: FakeOAuthProvider,
) -> None:
    url = httpx.URL(github(fake).authorization_url(state=STATE, code_challenge="c" * 43, nonce=""))
    assert dict(url.params) == {
        "client_id": fake.github_client.client_id,
        "redirect_uri": "http://127.0.0.1:8080/auth/callback/github",
        "scope": "read:user user:email",
        "state": STATE,
        "code_challenge": "c" * 43,
        "code_challenge_method": "S256",
    }


def test_authorization_url_refuses_an_empty_state(fake: FakeOAuthProvider) -> None:
    with pytest.raises(ValueError, match="state"):
        google(fake).authorization_url(state="", code_challenge="c" * 43, nonce=NONCE)


async def test_user_denying_consent_comes_back_as_access_denied(fake: FakeOAuthProvider) -> None:
    fake.deny_consent = True
    _, challenge = new_pkce_pair()
    url = google(fake).authorization_url(state=STATE, code_challenge=challenge, nonce=NONCE)
    with pytest.raises(AuthorizationError) as caught:
        await authorize(url)
    assert (caught.value.error, caught.value.state) == ("access_denied", STATE)


# --- Google -----------------------------------------------------------------------------------


async def test_google_sign_in_returns_the_consenting_users_identity(
    fake: FakeOAuthProvider,
) -> None:
    fake.google_user = GoogleUser(sub="4242", email="Grace.Hopper@Example.COM", picture="p.png")
    fake.google_user.given_name, fake.google_user.family_name = "Grace", "Hopper"
    provider = providers_from_settings(settings_for(fake))["google"]

    identity = await sign_in(provider)

    assert identity == OAuthIdentity(
        provider="google",
        subject="4242",
        email="grace.hopper@example.com",
        email_verified=True,
        first_name="Grace",
        last_name="Hopper",
        avatar_url="p.png",
    )


async def test_google_unverified_email_is_reported_unverified(fake: FakeOAuthProvider) -> None:
    fake.google_user.email_verified = False
    identity = await sign_in(google(fake))
    assert identity.email_verified is False


async def test_google_exchange_with_the_wrong_verifier_is_unauthenticated(
    fake: FakeOAuthProvider,
) -> None:
    wrong_verifier, _ = new_pkce_pair()
    await assert_oauth_failed(google(fake), verifier=wrong_verifier)


async def test_google_code_cannot_be_redeemed_twice(fake: FakeOAuthProvider) -> None:
    provider = google(fake)
    verifier, challenge = new_pkce_pair()
    code, _ = await authorize(
        provider.authorization_url(state=STATE, code_challenge=challenge, nonce=NONCE)
    )
    await provider.exchange(code=code, code_verifier=verifier, nonce=NONCE)
    with pytest.raises(errors.Unauthenticated) as caught:
        await provider.exchange(code=code, code_verifier=verifier, nonce=NONCE)
    assert caught.value.reason == OAUTH_FAILED


@pytest.mark.parametrize(
    ("switch", "value"),
    [
        pytest.param("id_token_foreign_key", True, id="signed-with-another-key"),
        pytest.param("id_token_expired", True, id="expired"),
        pytest.param("id_token_claims", {"aud": "someone-else"}, id="wrong-audience"),
        pytest.param("id_token_claims", {"iss": "https://evil.example"}, id="wrong-issuer"),
        pytest.param("id_token_claims", {"nonce": "replayed"}, id="wrong-nonce"),
        pytest.param("id_token_claims", {"nonce": None}, id="no-nonce"),
        pytest.param("id_token_claims", {"azp": "another-client"}, id="issued-to-another-client"),
        pytest.param("id_token_claims", {"iat": int(time.time()) + 3600}, id="issued-in-future"),
    ],
)
async def test_google_rejects_an_id_token_that_fails_verification(
    fake: FakeOAuthProvider, switch: str, value: Any
) -> None:
    setattr(fake, switch, value)
    await assert_oauth_failed(google(fake))


async def test_google_rejects_a_nonce_other_than_the_one_sent(fake: FakeOAuthProvider) -> None:
    await assert_oauth_failed(google(fake), nonce="the-nonce-of-another-browser")


async def test_google_id_token_with_an_unpublished_kid_is_rejected_after_one_refetch(
    fake: FakeOAuthProvider,
) -> None:
    provider = google(fake)
    await sign_in(provider)
    fake.id_token_kid = "unpublished"
    await assert_oauth_failed(provider)
    assert fake.jwks_requests == 2


async def test_google_caches_signing_keys_and_picks_up_a_rotated_key(
    fake: FakeOAuthProvider,
) -> None:
    provider = google(fake)
    await sign_in(provider)
    await sign_in(provider)
    assert fake.jwks_requests == 1

    new_kid = fake.rotate_google_key()
    identity = await sign_in(provider)

    assert fake.google_kid == new_kid
    assert fake.jwks_requests == 2
    assert identity.subject == fake.google_user.sub


async def test_google_accepts_the_schemeless_issuer_only_for_the_real_google(
    fake: FakeOAuthProvider,
) -> None:
    fake.id_token_claims = {"iss": "accounts.google.com"}
    await assert_oauth_failed(google(fake))
    identity = await sign_in(google(fake, issuer=GOOGLE_ISSUER))
    assert identity.provider == "google"


# --- GitHub -----------------------------------------------------------------------------------


async def test_github_sign_in_uses_the_primary_verified_email(fake: FakeOAuthProvider) -> None:
    provider = providers_from_settings(settings_for(fake))["github"]

    identity = await sign_in(provider)

    assert identity == OAuthIdentity(
        provider="github",
        subject="583231",
        email="mona@example.com",
        email_verified=True,
        first_name="Mona",
        last_name="Lisa Octocat",
        avatar_url="https://avatars.githubusercontent.com/u/583231?v=4",
    )


async def test_github_without_a_verified_primary_email_is_unverified(
    fake: FakeOAuthProvider,
) -> None:
    fake.github_user.emails = [
        GitHubEmail("Primary@Example.com", primary=True, verified=False),
        GitHubEmail("other@example.com", primary=False, verified=True),
    ]
    identity = await sign_in(github(fake))
    assert (identity.email, identity.email_verified) == ("primary@example.com", False)


async def test_github_user_without_a_name_is_named_by_login(fake: FakeOAuthProvider) -> None:
    fake.github_user = GitHubUser(id=7, login="nameless", name=None)
    identity = await sign_in(github(fake))
    assert (identity.subject, identity.first_name, identity.last_name) == ("7", "nameless", "")


async def test_github_exchange_with_the_wrong_verifier_is_unauthenticated(
    fake: FakeOAuthProvider,
) -> None:
    wrong_verifier, _ = new_pkce_pair()
    await assert_oauth_failed(github(fake), verifier=wrong_verifier)


async def test_github_code_cannot_be_redeemed_twice(fake: FakeOAuthProvider) -> None:
    provider = github(fake)
    verifier, challenge = new_pkce_pair()
    code, _ = await authorize(
        provider.authorization_url(state=STATE, code_challenge=challenge, nonce="")
    )
    await provider.exchange(code=code, code_verifier=verifier, nonce="")
    with pytest.raises(errors.Unauthenticated):
        await provider.exchange(code=code, code_verifier=verifier, nonce="")


async def test_github_wrong_client_secret_is_unauthenticated(fake: FakeOAuthProvider) -> None:
    await assert_oauth_failed(github(fake, client_secret="not-the-secret"))


# --- Provider down ----------------------------------------------------------------------------


@pytest.mark.parametrize("make", [google, github], ids=["google", "github"])
async def test_unreachable_provider_is_unavailable(fake: FakeOAuthProvider, make: Any) -> None:
    provider = make(fake)
    verifier, challenge = new_pkce_pair()
    code, _ = await authorize(
        provider.authorization_url(state=STATE, code_challenge=challenge, nonce=NONCE)
    )
    down = make(fake, token_url=f"{unused_port_url()}/token")
    with pytest.raises(errors.Unavailable):
        await down.exchange(code=code, code_verifier=verifier, nonce=NONCE)


@pytest.mark.parametrize("make", [google, github], ids=["google", "github"])
async def test_provider_answering_5xx_is_unavailable(fake: FakeOAuthProvider, make: Any) -> None:
    fake.fail_status = 503
    with pytest.raises(errors.Unavailable):
        await sign_in(make(fake))


async def test_slow_provider_times_out_as_unavailable(fake: FakeOAuthProvider) -> None:
    fake.delay_seconds = 0.5
    with pytest.raises(errors.Unavailable):
        await sign_in(google(fake, timeout=httpx.Timeout(0.1)))


async def test_cached_signing_key_still_verifies_while_jwks_is_down(
    fake: FakeOAuthProvider,
) -> None:
    provider = google(fake, jwks_ttl_seconds=0)
    await sign_in(provider)
    fake.fail_status, fake.fail_paths = 503, {"/google/jwks"}
    identity = await sign_in(provider)
    assert identity.subject == fake.google_user.sub
    fake.id_token_kid = "unpublished"
    with pytest.raises(errors.Unavailable):
        await sign_in(provider)


async def test_unreachable_jwks_is_unavailable(fake: FakeOAuthProvider) -> None:
    with pytest.raises(errors.Unavailable):
        await sign_in(google(fake, jwks_url=f"{unused_port_url()}/jwks"))


# --- Configuration and hygiene ----------------------------------------------------------------


def test_only_providers_with_client_id_and_secret_are_enabled(fake: FakeOAuthProvider) -> None:
    assert sorted(providers_from_settings(settings_for(fake))) == ["github", "google"]
    only_google = settings_for(fake, GITHUB_CLIENT_SECRET="")
    assert list(providers_from_settings(only_google)) == ["google"]
    assert providers_from_settings(load_settings(FILMSTUDIO_ENV="test")) == {}


def test_providers_must_not_share_a_redirect_uri(fake: FakeOAuthProvider) -> None:
    shared = settings_for(fake, GITHUB_REDIRECT_URI="http://127.0.0.1:8080/auth/callback/google")
    with pytest.raises(ConfigError, match="redirect URI"):
        providers_from_settings(shared)


async def test_failures_never_log_or_return_codes_or_tokens(
    fake: FakeOAuthProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = google(fake)
    verifier, challenge = new_pkce_pair()
    code, _ = await authorize(
        provider.authorization_url(state=STATE, code_challenge=challenge, nonce=NONCE)
    )
    fake.id_token_expired = True
    with pytest.raises(errors.Unauthenticated) as caught:
        await provider.exchange(code=code, code_verifier=verifier, nonce=NONCE)
    assert "rejected" in caplog.text
    for secret in (code, verifier, fake.google_client.client_secret):
        assert secret not in caplog.text
        assert secret not in str(caught.value)
