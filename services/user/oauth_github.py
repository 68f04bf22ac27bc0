"""GitHub sign-in: OAuth app authorization code flow with PKCE, then the REST API for the user."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from services.common.config import Settings
from services.user.oauth_base import (
    DEFAULT_TIMEOUT,
    HttpSession,
    OAuthIdentity,
    error_code,
    failed,
    json_body,
    json_object,
    require_nonempty,
    send,
    split_name,
    with_query,
)

log = logging.getLogger(__name__)

SCOPE = "read:user user:email"
API_VERSION = "2022-11-28"


class GitHubProvider:
    """GitHub as an OAuth 2.0 provider (no OpenID Connect: the identity comes from its API)."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        authorize_url: str,
        token_url: str,
        api_url: str,
        http: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.name = "github"
        self.redirect_uri = redirect_uri
        self._client_id = client_id
        self._client_secret = client_secret
        self._authorize_url = authorize_url
        self._token_url = token_url
        self._api_url = api_url.rstrip("/")
        self._http = HttpSession(http, timeout)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, http: httpx.AsyncClient | None = None
    ) -> GitHubProvider:
        """Build the provider from GITHUB_* settings; client id and secret must be set."""
        if not settings.github_client_id or settings.github_client_secret is None:
            raise ValueError("GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are required")
        return cls(
            client_id=settings.github_client_id,
            client_secret=settings.github_client_secret.get_secret_value(),
            redirect_uri=settings.github_redirect_uri,
            authorize_url=settings.github_authorize_url,
            token_url=settings.github_token_url,
            api_url=settings.github_api_url,
            http=http,
        )

    def authorization_url(self, *, state: str, code_challenge: str, nonce: str) -> str:
        """Return GitHub's consent URL; GitHub has no id token, so the nonce is not sent."""
        require_nonempty(state=state, code_challenge=code_challenge)
        return with_query(
            self._authorize_url,
            {
                "client_id": self._client_id,
                "redirect_uri": self.redirect_uri,
                "scope": SCOPE,
                "state": state,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            },
        )

    async def exchange(self, *, code: str, code_verifier: str, nonce: str) -> OAuthIdentity:
        """Redeem the code for an access token, then read the user and their emails."""
        if not code or not code_verifier:
            raise failed(self.name, "empty code or verifier")
        async with self._http.open() as client:
            token = await self._access_token(client, code, code_verifier)
            headers = {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
            }
            user = await self._get(client, "/user", headers)
            emails = await self._get(client, "/user/emails", headers)
        if not isinstance(user, dict):
            raise failed(self.name, "/user did not answer an object")
        if not isinstance(emails, list):
            raise failed(self.name, "/user/emails did not answer a list")
        return _identity(user, emails)

    async def _access_token(self, client: httpx.AsyncClient, code: str, code_verifier: str) -> str:
        response = await send(
            self.name,
            client,
            "POST",
            self._token_url,
            data={
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "code": code,
                "code_verifier": code_verifier,
                "redirect_uri": self.redirect_uri,
            },
            headers={"Accept": "application/json"},
        )
        body = json_object(self.name, response)
        # GitHub reports a bad code, verifier or client with 200 and an `error` field.
        if response.status_code != 200 or "error" in body:
            why = f"token endpoint answered {response.status_code} {error_code(body)}"
            raise failed(self.name, why.rstrip())
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise failed(self.name, "token response carries no access_token")
        return token

    async def _get(self, client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> Any:
        response = await send(self.name, client, "GET", f"{self._api_url}{path}", headers=headers)
        if response.status_code != 200:
            raise failed(self.name, f"GET {path} answered {response.status_code}")
        return json_body(self.name, response)


def _identity(user: dict[str, Any], emails: list[Any]) -> OAuthIdentity:
    """Build the identity: the numeric id as subject, the primary email only if verified."""
    user_id = user.get("id")
    # bool is an int subclass; a boolean id is not an id.
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        raise failed("github", "/user has no numeric id")
    primary = next(
        (e for e in emails if isinstance(e, dict) and e.get("primary") is True),
        None,
    )
    email = primary.get("email") if primary else None
    login = _text(user.get("login"))
    first, last = split_name(_text(user.get("name")))
    if not first:
        # Many GitHub users set no name; the login is the name they chose to show.
        first = login
    return OAuthIdentity(
        provider="github",
        subject=str(user_id),
        email=_text(email).strip().lower(),
        email_verified=bool(primary and primary.get("verified") is True and email),
        first_name=first,
        last_name=last,
        avatar_url=_text(user.get("avatar_url")),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
