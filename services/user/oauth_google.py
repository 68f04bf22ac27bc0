"""Google sign-in: OpenID Connect authorization code flow with PKCE and a verified id token."""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from services.common import errors
from services.common.config import Settings
from services.user.oauth_base import (
    DEFAULT_TIMEOUT,
    HttpSession,
    OAuthIdentity,
    error_code,
    failed,
    json_object,
    require_nonempty,
    send,
    split_name,
    unavailable,
    with_query,
)

log = logging.getLogger(__name__)

GOOGLE_ISSUER = "https://accounts.google.com"
# Google documents both spellings of its issuer (OpenID Connect guide, "Validating an ID token").
GOOGLE_ISSUER_ALIASES = (GOOGLE_ISSUER, "accounts.google.com")
SCOPE = "openid email profile"
SIGNING_ALGORITHM = "RS256"
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat"]
JWKS_RETRY_SECONDS = 60.0
_MAX_AGE = re.compile(r"max-age=(\d+)")


class JwksCache:
    """The provider's signing keys by kid, kept for a TTL and refetched when a kid is unknown."""

    def __init__(
        self,
        provider: str,
        url: str,
        *,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._provider = provider
        self._url = url
        self._ttl = ttl_seconds
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._expires_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, client: httpx.AsyncClient, kid: str) -> jwt.PyJWK | None:
        """Return the key with this kid, fetching the set when stale or when the kid is new."""
        if self._fresh() and kid in self._keys:
            return self._keys[kid]
        # One fetch at a time; the id token arrives over our own TLS call to the token
        # endpoint, so an unknown kid costs at most one JWKS request per sign-in.
        async with self._lock:
            if self._fresh() and kid in self._keys:
                return self._keys[kid]
            try:
                await self._refresh(client)
            except errors.Unavailable:
                if kid not in self._keys:
                    raise
                # Keys rotate slowly: a key we already trust stays usable while the JWKS
                # endpoint is down, and sign-ins do not each wait on it for a while.
                log.warning("using cached %s signing key; JWKS refresh failed", self._provider)
                self._expires_at = self._clock() + JWKS_RETRY_SECONDS
                return self._keys[kid]
            return self._keys.get(kid)

    def _fresh(self) -> bool:
        return self._clock() < self._expires_at

    async def _refresh(self, client: httpx.AsyncClient) -> None:
        response = await send(self._provider, client, "GET", self._url)
        if response.status_code != 200:
            raise unavailable(self._provider, f"JWKS endpoint answered {response.status_code}")
        body = json_object(self._provider, response)
        keys: dict[str, jwt.PyJWK] = {}
        for entry in body.get("keys") or []:
            key = _signing_key(entry)
            if key is not None and key.key_id:
                keys[key.key_id] = key
        ttl = self._ttl
        match = _MAX_AGE.search(response.headers.get("cache-control", ""))
        if match:
            ttl = min(ttl, float(match.group(1)))
        self._keys = keys
        self._expires_at = self._clock() + ttl
        log.debug("fetched %d %s signing keys", len(keys), self._provider)


def _signing_key(entry: Any) -> jwt.PyJWK | None:
    """Return an RS256 signature key from a JWK, or None for any other kind of key."""
    if not isinstance(entry, dict) or entry.get("kty") != "RSA":
        return None
    if entry.get("use", "sig") != "sig" or entry.get("alg", SIGNING_ALGORITHM) != "RS256":
        return None
    if not isinstance(entry.get("kid"), str):
        return None
    try:
        return jwt.PyJWK(entry, algorithm=SIGNING_ALGORITHM)
    except jwt.PyJWTError:
        log.warning("ignoring a malformed key in the JWKS")
        return None


class GoogleProvider:
    """Google as an OpenID Connect provider."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        authorize_url: str,
        token_url: str,
        jwks_url: str,
        issuer: str,
        http: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        jwks_ttl_seconds: float = 3600.0,
        leeway_seconds: float = 60.0,
    ) -> None:
        self.name = "google"
        self.redirect_uri = redirect_uri
        self._client_id = client_id
        self._client_secret = client_secret
        self._authorize_url = authorize_url
        self._token_url = token_url
        self._issuers = GOOGLE_ISSUER_ALIASES if issuer == GOOGLE_ISSUER else (issuer,)
        self._leeway = leeway_seconds
        self._http = HttpSession(http, timeout)
        self._jwks = JwksCache(self.name, jwks_url, ttl_seconds=jwks_ttl_seconds)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, http: httpx.AsyncClient | None = None
    ) -> GoogleProvider:
        """Build the provider from GOOGLE_* settings; client id and secret must be set."""
        if not settings.google_client_id or settings.google_client_secret is None:
            raise ValueError("GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are required")
        return cls(
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret.get_secret_value(),
            redirect_uri=settings.google_redirect_uri,
            authorize_url=settings.google_authorize_url,
            token_url=settings.google_token_url,
            jwks_url=settings.google_jwks_url,
            issuer=settings.google_issuer,
            http=http,
        )

    def authorization_url(self, *, state: str, code_challenge: str, nonce: str) -> str:
        """Return Google's consent URL for this state, PKCE challenge and nonce."""
        require_nonempty(state=state, code_challenge=code_challenge, nonce=nonce)
        return with_query(
            self._authorize_url,
            {
                "client_id": self._client_id,
                "redirect_uri": self.redirect_uri,
                "response_type": "code",
                "scope": SCOPE,
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            },
        )

    async def exchange(self, *, code: str, code_verifier: str, nonce: str) -> OAuthIdentity:
        """Redeem the code at the token endpoint and return the id token's verified identity."""
        require_nonempty(nonce=nonce)
        if not code or not code_verifier:
            raise failed(self.name, "empty code or verifier")
        async with self._http.open() as client:
            response = await send(
                self.name,
                client,
                "POST",
                self._token_url,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "code_verifier": code_verifier,
                    "redirect_uri": self.redirect_uri,
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                },
                headers={"Accept": "application/json"},
            )
            body = json_object(self.name, response)
            if response.status_code != 200 or "error" in body:
                raise failed(
                    self.name,
                    f"token endpoint answered {response.status_code} {error_code(body)}".rstrip(),
                )
            id_token = body.get("id_token")
            if not isinstance(id_token, str) or not id_token:
                raise failed(self.name, "token response carries no id_token")
            claims = await self._verify(client, id_token, nonce)
        return _identity(claims)

    async def _verify(self, client: httpx.AsyncClient, id_token: str, nonce: str) -> dict[str, Any]:
        """Check the id token's signature, issuer, audience, times and nonce; return its claims."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise failed(self.name, "id token is malformed") from None
        if header.get("alg") != SIGNING_ALGORITHM:
            raise failed(self.name, "id token is not signed with RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise failed(self.name, "id token names no key")
        key = await self._jwks.key(client, kid)
        if key is None:
            raise failed(self.name, "id token is signed with an unknown key")
        try:
            claims = jwt.decode(
                id_token,
                key,
                algorithms=[SIGNING_ALGORITHM],
                audience=self._client_id,
                issuer=self._issuers,
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            # PyJWT's messages name the failed check, never the token.
            raise failed(self.name, f"id token rejected: {type(exc).__name__}: {exc}") from None
        audience = claims["aud"]
        if isinstance(audience, list) and len(audience) > 1 and "azp" not in claims:
            raise failed(self.name, "id token has several audiences and no azp")
        if "azp" in claims and claims["azp"] != self._client_id:
            raise failed(self.name, "id token was issued to another client (azp)")
        token_nonce = claims.get("nonce")
        if not isinstance(token_nonce, str) or not hmac.compare_digest(
            token_nonce.encode(), nonce.encode()
        ):
            raise failed(self.name, "id token nonce does not match")
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise failed(self.name, "id token has no subject")
        return claims


def _identity(claims: dict[str, Any]) -> OAuthIdentity:
    """Build the identity from verified id token claims."""
    first = _text(claims.get("given_name"))
    last = _text(claims.get("family_name"))
    if not first and not last:
        first, last = split_name(_text(claims.get("name")))
    verified = claims.get("email_verified")
    return OAuthIdentity(
        provider="google",
        subject=claims["sub"],
        email=_text(claims.get("email")).strip().lower(),
        # Older Google tokens carried email_verified as the string "true".
        email_verified=verified is True or verified == "true",
        first_name=first,
        last_name=last,
        avatar_url=_text(claims.get("picture")),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
