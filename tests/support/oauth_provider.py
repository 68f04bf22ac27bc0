"""A real local HTTP server that plays Google (OIDC) and GitHub (OAuth) for sign-in tests.

It runs on 127.0.0.1 in a background thread and checks what the real providers check: the
client id and secret, exact registered redirect URIs, PKCE S256, single-use codes. There is no
browser, so the user who "consents" is preset on the fake (`fake.google_user`,
`fake.github_user`), and `authorize(url)` reads the code from the redirect without following it.
Switches make it misbehave: `id_token_foreign_key`, `id_token_expired`, `id_token_claims`,
`id_token_kid`, `fail_status` (on every endpoint but authorize, or only on `fail_paths`),
`delay_seconds`, `deny_consent`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import logging
import re
import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

log = logging.getLogger(__name__)

GOOGLE_REDIRECT_URI = "http://127.0.0.1:8080/auth/callback/google"
GITHUB_REDIRECT_URI = "http://127.0.0.1:8080/auth/callback/github"
CODE_TTL_SECONDS = 600
ID_TOKEN_TTL_SECONDS = 3600
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass
class GoogleUser:
    """The Google account that consents at the fake authorize endpoint."""

    sub: str = "109876543210987654321"
    email: str = "Ada.Lovelace@Example.com"
    email_verified: bool = True
    given_name: str = "Ada"
    family_name: str = "Lovelace"
    picture: str = "https://lh3.googleusercontent.com/a/ada"


@dataclass
class GitHubEmail:
    """One entry of GitHub's /user/emails."""

    email: str
    primary: bool = False
    verified: bool = False
    visibility: str | None = None


def _default_github_emails() -> list[GitHubEmail]:
    return [
        GitHubEmail("mona@old.example.com", primary=False, verified=True),
        GitHubEmail("Mona@Example.com", primary=True, verified=True, visibility="public"),
        GitHubEmail("mona@unverified.example.com", primary=False, verified=False),
    ]


@dataclass
class GitHubUser:
    """The GitHub account that consents at the fake authorize endpoint."""

    id: int = 583231
    login: str = "octocat"
    name: str | None = "Mona Lisa Octocat"
    avatar_url: str = "https://avatars.githubusercontent.com/u/583231?v=4"
    emails: list[GitHubEmail] = field(default_factory=_default_github_emails)


@dataclass
class ClientRegistration:
    """An OAuth client registered with one of the fake providers."""

    client_id: str
    client_secret: str
    redirect_uris: set[str]


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    scopes: frozenset[str]
    nonce: str | None
    user: Any
    issued_at: float
    used: bool = False


@dataclass
class _SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> _SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(kid=secrets.token_hex(8), private_key=key)

    def jwk(self) -> dict[str, Any]:
        public = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        assert isinstance(public, dict)
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}


class AuthorizationError(Exception):
    """The fake authorize endpoint refused, or redirected back with an OAuth error."""

    def __init__(self, error: str, description: str = "", state: str | None = None) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.state = state


def s256(verifier: str) -> str:
    """Return the RFC 7636 S256 challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _with_query(url: str, params: dict[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


class FakeOAuthProvider:
    """Google and GitHub on one local port; use as a context manager or start()/stop()."""

    def __init__(
        self,
        *,
        google_redirect_uri: str = GOOGLE_REDIRECT_URI,
        github_redirect_uri: str = GITHUB_REDIRECT_URI,
    ) -> None:
        self.google_client = ClientRegistration(
            "fake-google-client.apps.googleusercontent.com",
            "GOCSPX-" + secrets.token_urlsafe(24),
            {google_redirect_uri},
        )
        self.github_client = ClientRegistration(
            "Iv1." + secrets.token_hex(8), secrets.token_hex(20), {github_redirect_uri}
        )
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._signing_keys = [_SigningKey.generate()]
        self._foreign_key: _SigningKey | None = None
        self.reset()

    # --- Lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeOAuthProvider:
        """Serve on a free port of 127.0.0.1 in a daemon thread."""
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOAuthProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Return http://127.0.0.1:PORT of the running server."""
        assert self._server is not None, "the fake provider is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def google_issuer(self) -> str:
        """Return the `iss` the fake Google puts in id tokens."""
        return f"{self.base_url}/google"

    def reset(self) -> None:
        """Forget codes and tokens and undo every switch and preset user."""
        with self._lock:
            self.google_user = GoogleUser()
            self.github_user = GitHubUser()
            self.deny_consent = False
            self.id_token_foreign_key = False
            self.id_token_expired = False
            self.id_token_claims: dict[str, Any] = {}
            self.id_token_kid: str | None = None
            self.fail_status: int | None = None
            self.fail_paths: set[str] = set()
            self.delay_seconds = 0.0
            self.jwks_requests = 0
            self.token_requests = 0
            self._grants: dict[str, _Grant] = {}
            self._github_tokens: dict[str, tuple[GitHubUser, frozenset[str]]] = {}

    def settings_overrides(self) -> dict[str, str]:
        """Return Settings aliases (GOOGLE_*, GITHUB_*) that point the app at this fake."""
        base = self.base_url
        return {
            "GOOGLE_CLIENT_ID": self.google_client.client_id,
            "GOOGLE_CLIENT_SECRET": self.google_client.client_secret,
            "GOOGLE_REDIRECT_URI": sorted(self.google_client.redirect_uris)[0],
            "GOOGLE_AUTHORIZE_URL": f"{base}/google/authorize",
            "GOOGLE_TOKEN_URL": f"{base}/google/token",
            "GOOGLE_JWKS_URL": f"{base}/google/jwks",
            "GOOGLE_ISSUER": self.google_issuer,
            "GITHUB_CLIENT_ID": self.github_client.client_id,
            "GITHUB_CLIENT_SECRET": self.github_client.client_secret,
            "GITHUB_REDIRECT_URI": sorted(self.github_client.redirect_uris)[0],
            "GITHUB_AUTHORIZE_URL": f"{base}/github/authorize",
            "GITHUB_TOKEN_URL": f"{base}/github/login/oauth/access_token",
            "GITHUB_API_URL": f"{base}/github/api",
        }

    # --- Keys ---------------------------------------------------------------------------------

    @property
    def google_kid(self) -> str:
        """Return the kid that signs new id tokens."""
        return self._signing_keys[-1].kid

    def rotate_google_key(self, *, keep_old: bool = False) -> str:
        """Sign with a new key (new kid) from now on; the JWKS drops the old one unless kept."""
        new = _SigningKey.generate()
        with self._lock:
            self._signing_keys = [*self._signing_keys, new] if keep_old else [new]
        return new.kid

    def _jwks(self) -> dict[str, Any]:
        with self._lock:
            self.jwks_requests += 1
            return {"keys": [key.jwk() for key in self._signing_keys]}

    def _id_token(self, grant: _Grant) -> str:
        user: GoogleUser = grant.user
        now = int(time.time())
        issued = now - 2 * ID_TOKEN_TTL_SECONDS if self.id_token_expired else now
        claims: dict[str, Any] = {
            "iss": self.google_issuer,
            "azp": grant.client_id,
            "aud": grant.client_id,
            "sub": user.sub,
            "email": user.email,
            "email_verified": user.email_verified,
            "name": f"{user.given_name} {user.family_name}".strip(),
            "given_name": user.given_name,
            "family_name": user.family_name,
            "picture": user.picture,
            "iat": issued,
            "exp": issued + ID_TOKEN_TTL_SECONDS,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        claims.update(self.id_token_claims)
        signer = self._signing_keys[-1]
        if self.id_token_foreign_key:
            # Same kid, different key: only a signature check tells the difference.
            if self._foreign_key is None:
                self._foreign_key = _SigningKey.generate()
            signer = _SigningKey(signer.kid, self._foreign_key.private_key)
        return jwt.encode(
            claims,
            signer.private_key,
            algorithm="RS256",
            headers={"kid": self.id_token_kid or signer.kid},
        )

    # --- Authorization codes ------------------------------------------------------------------

    def _issue_code(self, grant: _Grant, prefix: str) -> str:
        code = prefix + secrets.token_urlsafe(32)
        with self._lock:
            self._grants[code] = grant
        return code

    def _redeem(self, code: str, client_id: str) -> tuple[_Grant | None, str]:
        """Consume a code whatever happens next (RFC 6749 4.1.2: use it once)."""
        with self._lock:
            self.token_requests += 1
            grant = self._grants.get(code)
            if grant is None or grant.client_id != client_id:
                return None, "unknown code"
            if grant.used:
                return None, "code already used"
            grant.used = True
        if time.time() - grant.issued_at > CODE_TTL_SECONDS:
            return None, "code expired"
        return grant, ""

    def _github_token(self, grant: _Grant) -> str:
        token = "gho_" + secrets.token_urlsafe(27)
        with self._lock:
            self._github_tokens[token] = (grant.user, grant.scopes)
        return token

    def _github_bearer(self, authorization: str) -> tuple[GitHubUser, frozenset[str]] | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            return None
        with self._lock:
            return self._github_tokens.get(token.strip())


class _Server(ThreadingHTTPServer):
    """The threaded server, quiet about clients that hang up (e.g. after a timeout test)."""

    daemon_threads = True
    fake: FakeOAuthProvider

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("fake oauth: client %s hung up", client_address)
            return
        super().handle_error(request, client_address)


def _pkce_matches(verifier: str | None, challenge: str) -> bool:
    return (
        verifier is not None
        and bool(_VERIFIER.fullmatch(verifier))
        and s256(verifier) == (challenge)
    )


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the fake Google and GitHub endpoints."""

    server_version = "FakeOAuth/1"

    @property
    def fake(self) -> FakeOAuthProvider:
        assert isinstance(self.server, _Server)
        return self.server.fake

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet by default: request lines carry codes in query strings.
        log.debug("fake oauth: " + format, *args)

    # --- Plumbing -----------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", headers.pop("cache_control", "no-store"))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, body: Any, **headers: str) -> None:
        self._send(status, json.dumps(body).encode(), "application/json; charset=utf-8", **headers)

    def _page(self, status: int, text: str) -> None:
        self._send(status, text.encode(), "text/plain; charset=utf-8")

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.path).query))

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            body = json.loads(raw or "{}")
            return {str(k): str(v) for k, v in body.items()}
        return dict(parse_qsl(raw))

    def _basic_auth(self) -> tuple[str, str] | None:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        user, _, password = base64.b64decode(value).decode().partition(":")
        return user, password

    def _misbehave(self) -> bool:
        """Apply the delay and failure switches; tell whether a failure was answered."""
        if self.fake.delay_seconds:
            time.sleep(self.fake.delay_seconds)
        fail_paths = self.fake.fail_paths
        if self.fake.fail_status is not None and (
            not fail_paths or urlsplit(self.path).path in fail_paths
        ):
            self._page(self.fake.fail_status, "the fake provider is failing on purpose")
            return True
        return False

    # --- Routing ------------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        routes = {
            "/google/authorize": self._google_authorize,
            "/google/jwks": self._google_jwks,
            "/github/authorize": self._github_authorize,
            "/github/api/user": self._github_user,
            "/github/api/user/emails": self._github_emails,
        }
        self._route(routes, path)

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        routes = {
            "/google/token": self._google_token,
            "/github/login/oauth/access_token": self._github_token,
        }
        self._route(routes, path)

    def _route(self, routes: dict[str, Any], path: str) -> None:
        handler = routes.get(path)
        if handler is None:
            self._json(404, {"error": "not_found"})
            return
        if not path.endswith("/authorize") and self._misbehave():
            return
        handler()

    # --- Shared authorize logic ---------------------------------------------------------------

    def _authorize(
        self,
        client: ClientRegistration,
        user: Any,
        code_prefix: str,
        *,
        require_response_type: bool,
        default_redirect: bool,
    ) -> None:
        query = self._query()
        if query.get("client_id") != client.client_id:
            # Like the real consent pages: an unknown client gets an error page, no redirect.
            self._page(400, "invalid_client: the OAuth client was not found")
            return
        redirect_uri = query.get("redirect_uri")
        if redirect_uri is None and default_redirect and len(client.redirect_uris) == 1:
            redirect_uri = next(iter(client.redirect_uris))
        if redirect_uri not in client.redirect_uris:
            self._page(400, "redirect_uri_mismatch: the redirect URI is not registered")
            return
        assert redirect_uri is not None
        state = query.get("state")

        def refuse(error: str, description: str) -> None:
            params = {"error": error, "error_description": description}
            if state is not None:
                params["state"] = state
            self._redirect(_with_query(redirect_uri, params))

        if require_response_type and query.get("response_type") != "code":
            refuse("unsupported_response_type", "response_type must be code")
            return
        if query.get("code_challenge_method") != "S256":
            refuse("invalid_request", "code_challenge_method must be S256")
            return
        challenge = query.get("code_challenge", "")
        if not _S256_CHALLENGE.fullmatch(challenge):
            refuse("invalid_request", "code_challenge must be a base64url SHA-256 digest")
            return
        if not state:
            # Real providers make state optional; the fake insists, to catch CSRF gaps.
            refuse("invalid_request", "state is required")
            return
        if self.fake.deny_consent:
            refuse("access_denied", "the user denied access")
            return
        scopes = frozenset(re.split(r"[ ,]+", query.get("scope", "").strip())) - {""}
        grant = _Grant(
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            code_challenge=challenge,
            scopes=scopes,
            nonce=query.get("nonce"),
            user=copy.deepcopy(user),
            issued_at=time.time(),
        )
        code = self.fake._issue_code(grant, code_prefix)
        self._redirect(_with_query(redirect_uri, {"code": code, "state": state}))

    # --- Google -------------------------------------------------------------------------------

    def _google_authorize(self) -> None:
        self._authorize(
            self.fake.google_client,
            self.fake.google_user,
            "4/0A",
            require_response_type=True,
            default_redirect=False,
        )

    def _google_jwks(self) -> None:
        self._json(200, self.fake._jwks(), cache_control="public, max-age=19800")

    def _google_token(self) -> None:
        if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            self._json(400, {"error": "invalid_request", "error_description": "form required"})
            return
        form = self._form()
        client = self.fake.google_client
        client_id, secret = self._basic_auth() or (
            form.get("client_id", ""),
            form.get("client_secret", ""),
        )
        if client_id != client.client_id or not secrets.compare_digest(
            secret.encode(), client.client_secret.encode()
        ):
            self._json(
                401,
                {"error": "invalid_client", "error_description": "The OAuth client was not found."},
            )
            return
        if form.get("grant_type") != "authorization_code":
            self._json(400, {"error": "unsupported_grant_type"})
            return
        grant, why = self.fake._redeem(form.get("code", ""), client_id)
        if grant is None:
            self._json(400, {"error": "invalid_grant", "error_description": why})
            return
        if form.get("redirect_uri") != grant.redirect_uri:
            self._json(400, {"error": "redirect_uri_mismatch", "error_description": "Bad Request"})
            return
        if not _pkce_matches(form.get("code_verifier"), grant.code_challenge):
            self._json(
                400, {"error": "invalid_grant", "error_description": "Invalid code verifier."}
            )
            return
        body: dict[str, Any] = {
            "access_token": "ya29." + secrets.token_urlsafe(32),
            "expires_in": 3599,
            "scope": " ".join(sorted(grant.scopes)),
            "token_type": "Bearer",
        }
        if "openid" in grant.scopes:
            body["id_token"] = self.fake._id_token(grant)
        self._json(200, body)

    # --- GitHub -------------------------------------------------------------------------------

    def _github_authorize(self) -> None:
        self._authorize(
            self.fake.github_client,
            self.fake.github_user,
            "",
            require_response_type=False,
            default_redirect=True,
        )

    def _github_token(self) -> None:
        form = {**self._query(), **self._form()}
        client = self.fake.github_client
        wants_json = "application/json" in self.headers.get("Accept", "")

        def answer(body: dict[str, str]) -> None:
            # GitHub answers 200 even for errors; the body's `error` field tells.
            if wants_json:
                self._json(200, body)
            else:
                self._send(200, urlencode(body).encode(), "application/x-www-form-urlencoded")

        client_id = form.get("client_id", "")
        if client_id != client.client_id or not secrets.compare_digest(
            form.get("client_secret", "").encode(), client.client_secret.encode()
        ):
            answer(
                {
                    "error": "incorrect_client_credentials",
                    "error_description": "The client_id and/or client_secret passed are incorrect.",
                }
            )
            return
        grant, why = self.fake._redeem(form.get("code", ""), client_id)
        if grant is None:
            answer({"error": "bad_verification_code", "error_description": why})
            return
        if "redirect_uri" in form and form["redirect_uri"] != grant.redirect_uri:
            answer({"error": "redirect_uri_mismatch", "error_description": "redirect_uri differs"})
            return
        if not _pkce_matches(form.get("code_verifier"), grant.code_challenge):
            answer({"error": "bad_verification_code", "error_description": "bad code_verifier"})
            return
        answer(
            {
                "access_token": self.fake._github_token(grant),
                "token_type": "bearer",
                "scope": ",".join(sorted(grant.scopes)),
            }
        )

    def _github_session(self) -> tuple[GitHubUser, frozenset[str]] | None:
        session = self.fake._github_bearer(self.headers.get("Authorization", ""))
        if session is None:
            self._json(
                401,
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
            )
        return session

    def _github_user(self) -> None:
        session = self._github_session()
        if session is None:
            return
        user, _ = session
        self._json(
            200,
            {
                "id": user.id,
                "login": user.login,
                "name": user.name,
                "avatar_url": user.avatar_url,
                "type": "User",
                "email": next((e.email for e in user.emails if e.visibility == "public"), None),
            },
        )

    def _github_emails(self) -> None:
        session = self._github_session()
        if session is None:
            return
        user, scopes = session
        if not scopes & {"user:email", "user"}:
            # GitHub hides this endpoint from tokens without the user:email scope.
            self._json(404, {"message": "Not Found"})
            return
        self._json(
            200,
            [
                {
                    "email": e.email,
                    "primary": e.primary,
                    "verified": e.verified,
                    "visibility": e.visibility,
                }
                for e in user.emails
            ],
        )


async def authorize_location(url: str) -> httpx.URL:
    """Open an authorize URL as a browser would and return where it redirects, unfollowed."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=5.0) as client:
        response = await client.get(url)
    if response.status_code != 302:
        raise AuthorizationError(f"http_{response.status_code}", response.text)
    return httpx.URL(response.headers["Location"])


async def authorize(url: str) -> tuple[str, str]:
    """Consent at the fake's authorize URL; return (code, state) from the redirect."""
    location = await authorize_location(url)
    params = location.params
    if "error" in params:
        raise AuthorizationError(
            params["error"], params.get("error_description", ""), params.get("state")
        )
    return params["code"], params["state"]


def unused_port_url() -> str:
    """Return an http URL on 127.0.0.1 where nothing listens, for provider-down tests."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
