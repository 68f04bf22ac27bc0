"""OAuth sign-in providers (Google, GitHub): authorize URLs with PKCE S256, code exchange.

The UserService owns the flow's state: it creates `state`, the PKCE pair and the nonce, binds
them to the browser, and links the returned identity to an account. This package only talks
to the providers. A provider answering an error, or a token that fails verification, raises
`Unauthenticated` with reason OAUTH_FAILED; an unreachable provider raises `Unavailable`.
"""

from __future__ import annotations

import logging

import httpx
from pydantic import SecretStr

from services.common.config import ConfigError, Settings
from services.user.oauth_base import (
    OAUTH_FAILED,
    OAuthIdentity,
    OAuthProvider,
    new_pkce_pair,
    pkce_challenge,
)
from services.user.oauth_github import GitHubProvider
from services.user.oauth_google import GoogleProvider

__all__ = [
    "OAUTH_FAILED",
    "GitHubProvider",
    "GoogleProvider",
    "OAuthIdentity",
    "OAuthProvider",
    "new_pkce_pair",
    "pkce_challenge",
    "providers_from_settings",
]

log = logging.getLogger(__name__)


def providers_from_settings(
    settings: Settings, *, http: httpx.AsyncClient | None = None
) -> dict[str, OAuthProvider]:
    """Return the providers whose client id and secret are both set, by name."""
    providers: dict[str, OAuthProvider] = {}
    if _configured(settings.google_client_id, settings.google_client_secret):
        providers["google"] = GoogleProvider.from_settings(settings, http=http)
    if _configured(settings.github_client_id, settings.github_client_secret):
        providers["github"] = GitHubProvider.from_settings(settings, http=http)
    redirects = [provider.redirect_uri for provider in providers.values()]
    if len(set(redirects)) != len(redirects):
        # Mix-up defence (RFC 9700 section 4.4): the callback URL tells which provider answered.
        raise ConfigError("each OAuth provider needs its own redirect URI")
    if providers:
        log.info("oauth sign-in enabled for %s", ", ".join(sorted(providers)))
    return providers


def _configured(client_id: str | None, client_secret: SecretStr | None) -> bool:
    """Tell whether both halves of a client registration are present and non-empty."""
    return bool(client_id) and client_secret is not None and bool(client_secret.get_secret_value())
