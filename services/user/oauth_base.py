"""What every OAuth sign-in provider shares: the identity, PKCE, the protocol and HTTP plumbing."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx

from services.common import errors

log = logging.getLogger(__name__)

OAUTH_FAILED = "OAUTH_FAILED"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "FilmStudio-OAuth/1"

# RFC 7636 section 4.1: 43-128 characters from the unreserved set.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
# Provider error codes are short tokens; anything else is not worth putting in a log line.
_ERROR_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


@dataclass(frozen=True)
class OAuthIdentity:
    """Who the provider says signed in: its stable id for them and their profile."""

    provider: str
    subject: str
    email: str
    email_verified: bool
    first_name: str
    last_name: str
    avatar_url: str


class OAuthProvider(Protocol):
    """One sign-in provider: builds the authorize URL, then turns a code into an identity."""

    name: str
    redirect_uri: str

    def authorization_url(self, *, state: str, code_challenge: str, nonce: str) -> str:
        """Return the URL to send the browser to."""
        ...

    async def exchange(self, *, code: str, code_verifier: str, nonce: str) -> OAuthIdentity:
        """Redeem the authorization code and return the verified identity."""
        ...


def pkce_challenge(code_verifier: str) -> str:
    """Return the S256 code challenge of a verifier (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_pkce_pair() -> tuple[str, str]:
    """Return a fresh (code_verifier, S256 code_challenge) pair."""
    # 64 random bytes give an 86-character verifier: well inside 43-128, 512 bits of entropy.
    verifier = secrets.token_urlsafe(64)
    return verifier, pkce_challenge(verifier)


def is_valid_verifier(code_verifier: str) -> bool:
    """Tell whether a string has the shape RFC 7636 requires of a code verifier."""
    return _VERIFIER.fullmatch(code_verifier) is not None


def require_nonempty(**values: str) -> None:
    """Raise ValueError for an empty argument: a caller bug, never a user error."""
    for name, value in values.items():
        if not value:
            raise ValueError(f"{name} must not be empty")


def with_query(url: str, params: Mapping[str, str]) -> str:
    """Append query parameters to a URL that may already carry some."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode(params)}"


def error_code(body: Mapping[str, Any]) -> str:
    """Return the provider's `error` code if it is a plain token, for logs and metadata."""
    value = body.get("error")
    if isinstance(value, str) and _ERROR_CODE.fullmatch(value):
        return value
    return "unknown" if value is not None else ""


def failed(provider: str, why: str) -> errors.Unauthenticated:
    """Log why a sign-in failed and return the error the caller sees."""
    # `why` is built by this package from codes and statuses only: never tokens or codes.
    log.warning("oauth sign-in with %s failed: %s", provider, why)
    return errors.Unauthenticated(
        f"{provider} sign-in failed", reason=OAUTH_FAILED, metadata={"provider": provider}
    )


def unavailable(provider: str, why: str) -> errors.Unavailable:
    """Log that a provider could not be reached and return the retryable error."""
    log.warning("oauth provider %s unavailable: %s", provider, why)
    return errors.Unavailable(f"{provider} sign-in is unavailable; try again later")


class HttpSession:
    """Lends an httpx client: the injected shared one, or a short-lived one per operation."""

    def __init__(self, client: httpx.AsyncClient | None, timeout: httpx.Timeout) -> None:
        self._client = client
        self._timeout = timeout

    @asynccontextmanager
    async def open(self) -> AsyncIterator[httpx.AsyncClient]:
        """Yield a client; one this session created is closed on exit."""
        if self._client is not None:
            yield self._client
            return
        async with httpx.AsyncClient(
            timeout=self._timeout, headers={"User-Agent": USER_AGENT}
        ) as client:
            yield client


async def send(
    provider: str, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """Send a request; unreachable, 5xx, 429 or redirecting providers raise Unavailable."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise unavailable(provider, f"{method} {_safe_url(url)} timed out") from None
    except httpx.HTTPError as exc:
        raise unavailable(provider, f"{method} {_safe_url(url)}: {type(exc).__name__}") from None
    status = response.status_code
    if status >= 500 or status == 429 or 300 <= status < 400:
        raise unavailable(provider, f"{method} {_safe_url(url)} answered {status}")
    return response


def json_body(provider: str, response: httpx.Response) -> Any:
    """Decode a JSON response; a body that is not JSON means the provider is misbehaving."""
    try:
        return response.json()
    except ValueError:
        raise unavailable(
            provider, f"{_safe_url(str(response.url))} answered {response.status_code}, not JSON"
        ) from None


def json_object(provider: str, response: httpx.Response) -> dict[str, Any]:
    """Decode a JSON object response."""
    body = json_body(provider, response)
    if not isinstance(body, dict):
        raise unavailable(provider, f"{_safe_url(str(response.url))} did not answer an object")
    return body


def split_name(name: str) -> tuple[str, str]:
    """Split a display name into first name and the rest."""
    parts = name.split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def _safe_url(url: str) -> str:
    """Drop the query string, which for OAuth endpoints may carry codes or tokens."""
    return url.split("?", 1)[0]
