"""Google's OAuth endpoints and the few Data API reads the server makes, over httpx.

Uploads are the workers' (uploader.py, through google-api-python-client); the server only
exchanges, refreshes and revokes tokens, reads the channel and a video's status, and creates
playlists. Every URL comes from Settings, so tests point them at a local fake.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from services.common import errors
from services.common.config import Settings
from services.common.db import utcnow
from services.user.oauth_base import DEFAULT_TIMEOUT, error_code, json_object, send, with_query

log = logging.getLogger(__name__)

PROVIDER = "YouTube"
SCOPE_UPLOAD = "https://www.googleapis.com/auth/youtube.upload"
SCOPE_MANAGE = "https://www.googleapis.com/auth/youtube"
RECONNECT = "YOUTUBE_RECONNECT_REQUIRED"


class GrantRefused(Exception):
    """Google refused the refresh token (revoked, expired, or the client changed)."""


@dataclass(frozen=True)
class Tokens:
    """What the token endpoint handed out."""

    access_token: str
    expires_at: datetime
    refresh_token: str
    scopes: list[str]


def reconnect_error(why: str = "") -> errors.FailedPrecondition:
    """Return the error that tells the user to connect their channel again."""
    return errors.FailedPrecondition(
        "the YouTube connection no longer works (access was revoked or expired); "
        "reconnect your channel with ConnectYouTubeAccount" + (f": {why}" if why else ""),
        reason=RECONNECT,
    )


class GoogleApi:
    """Google's token, revoke and Data API endpoints for one OAuth client."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.client_id = settings.youtube_client_id or ""
        secret = settings.youtube_client_secret
        self.client_secret = secret.get_secret_value() if secret is not None else ""
        self.api = settings.youtube_api_url.rstrip("/") + "/youtube/v3"
        self._http = http

    def require_configured(self) -> None:
        """Raise FailedPrecondition when no OAuth client is configured."""
        if not (self.client_id and self.client_secret):
            raise errors.FailedPrecondition(
                "YouTube is not configured on this server", reason="YOUTUBE_NOT_CONFIGURED"
            )

    def authorization_url(self, *, state: str, code_challenge: str, scopes: list[str]) -> str:
        """Return Google's consent URL: offline access (a refresh token), PKCE S256."""
        return with_query(
            self.settings.youtube_authorize_url,
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.settings.youtube_redirect_uri,
                "scope": " ".join(scopes),
                "state": state,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
                "access_type": "offline",
                # Google hands out a refresh token again only when consent is asked again.
                "prompt": "consent",
                "include_granted_scopes": "true",
            },
        )

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self._http is not None:
            return await send(PROVIDER, self._http, method, url, **kwargs)
        async with httpx.AsyncClient(timeout=DEFAULT_TIMEOUT) as client:
            return await send(PROVIDER, client, method, url, **kwargs)

    async def _token(self, form: dict[str, str]) -> dict[str, Any]:
        response = await self._request(
            "POST",
            self.settings.youtube_token_url,
            data=form,
            auth=(self.client_id, self.client_secret),
            headers={"Accept": "application/json"},
        )
        body = json_object(PROVIDER, response)
        if response.status_code == 400 and body.get("error") == "invalid_grant":
            raise GrantRefused(error_code(body))
        if response.status_code != 200 or not isinstance(body.get("access_token"), str):
            log.warning("youtube token endpoint refused: %s", error_code(body))
            raise errors.FailedPrecondition(
                "Google refused the YouTube authorization", reason="YOUTUBE_OAUTH_FAILED"
            )
        return body

    async def exchange(self, code: str, code_verifier: str) -> Tokens:
        """Redeem an authorization code with its PKCE verifier."""
        body = await self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": code_verifier,
                "redirect_uri": self.settings.youtube_redirect_uri,
            }
        )
        if not isinstance(body.get("refresh_token"), str):
            raise errors.FailedPrecondition(
                "Google gave no refresh token; remove FilmStudio's access in your Google "
                "account settings and connect again",
                reason="YOUTUBE_OAUTH_FAILED",
            )
        return _tokens(body, body["refresh_token"])

    async def refresh(self, refresh_token: str) -> Tokens:
        """Return a new access token; GrantRefused when the grant is gone."""
        body = await self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})
        return _tokens(body, body.get("refresh_token") or refresh_token)

    async def revoke(self, token: str) -> None:
        """Revoke a token at Google; an already invalid token counts as revoked."""
        response = await self._request(
            "POST", self.settings.youtube_revoke_url, data={"token": token}
        )
        if response.status_code not in (200, 400):
            log.warning("youtube revoke answered %s", response.status_code)

    async def get(self, access_token: str, path: str, params: dict[str, str]) -> dict[str, Any]:
        """GET a Data API resource list."""
        return await self._call("GET", access_token, path, params=params)

    async def post(
        self, access_token: str, path: str, params: dict[str, str], body: dict[str, Any]
    ) -> dict[str, Any]:
        """POST (insert) a Data API resource."""
        return await self._call("POST", access_token, path, params=params, json=body)

    async def _call(
        self, method: str, access_token: str, path: str, **kwargs: Any
    ) -> dict[str, Any]:
        response = await self._request(
            method,
            f"{self.api}/{path}",
            headers={"Authorization": f"Bearer {access_token}"},
            **kwargs,
        )
        if response.status_code == 401:
            raise GrantRefused("unauthorized")
        if response.status_code == 403:
            raise errors.PermissionDenied(
                "YouTube refused: the channel did not grant this (connect with manage_playlists) "
                "or the quota is spent",
                reason="YOUTUBE_FORBIDDEN",
            )
        if response.status_code == 404:
            raise errors.NotFound(f"YouTube has no such resource ({path})")
        if response.status_code >= 400:
            raise errors.FailedPrecondition(
                f"YouTube refused the request ({response.status_code})", reason="YOUTUBE_REFUSED"
            )
        return json_object(PROVIDER, response)


def _tokens(body: dict[str, Any], refresh_token: str) -> Tokens:
    expires_in = body.get("expires_in")
    seconds = int(expires_in) if isinstance(expires_in, int | float | str) else 3600
    scope = body.get("scope")
    return Tokens(
        access_token=str(body["access_token"]),
        expires_at=utcnow() + timedelta(seconds=max(0, seconds)),
        refresh_token=refresh_token,
        scopes=scope.split() if isinstance(scope, str) else [],
    )
