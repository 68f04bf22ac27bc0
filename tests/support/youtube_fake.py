"""A real local HTTP server that plays Google OAuth and the YouTube Data API for upload tests.

It checks what Google checks: the client id and secret (HTTP Basic), the exact redirect URI,
PKCE S256, single-use codes, bearer tokens on every API call. It speaks the resumable upload
protocol as google-api-python-client expects it: POST `uploadType=resumable` with
`X-Upload-Content-Length` -> `Location`; PUT chunks with `Content-Range: bytes a-b/total` ->
308 with `Range` (or 200 with the video once complete); PUT `bytes */total` asks where the
session stands.

Faults are queued on `faults` and spent one per chunk PUT: "ok" (none), "400" (refused for
good), "503", "500", "429"
(answered after reading the chunk, nothing kept), "401" (the access token in use expires; the
chunk is refused), "drop" (half the chunk is read and kept, then the connection is cut without
an answer), "gone" (the session is forgotten: 404). `chunk_delay` slows each chunk;
`revoke_all()` plays a user removing the app's access in their Google account.
"""

from __future__ import annotations

import base64
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
from urllib.parse import parse_qsl, urlsplit

import httpx

log = logging.getLogger(__name__)

REDIRECT_URI = "http://127.0.0.1:8080/youtube/callback"
_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_QUERY = re.compile(r"bytes \*/(\d+)")


def s256(verifier: str) -> str:
    """Return the RFC 7636 S256 challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class _Session:
    """One resumable upload session."""

    total: int
    metadata: dict[str, Any]
    data: bytearray = field(default_factory=bytearray)
    video_id: str = ""


@dataclass
class FakeYouTube:
    """Google's OAuth endpoints and YouTube on one local port."""

    client_id: str = "fake-youtube-client.apps.googleusercontent.com"
    client_secret: str = field(default_factory=lambda: "GOCSPX-" + secrets.token_urlsafe(18))
    channel_id: str = "UC_fake_channel_000000001"
    channel_title: str = "Ada's Films"
    access_ttl: int = 3600

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self._server: _Server | None = None
        self.reset()

    def reset(self) -> None:
        """Forget every grant, session, video and counter, and clear the faults."""
        with getattr(self, "lock", threading.Lock()):
            self.codes: dict[str, dict[str, Any]] = {}
            self.refresh_tokens: dict[str, dict[str, Any]] = {}  # token -> grant
            self.access_tokens: dict[str, tuple[str, float]] = {}  # token -> (refresh, expiry)
            self.sessions: dict[str, _Session] = {}
            self.videos: dict[str, dict[str, Any]] = {}
            self.thumbnails: dict[str, bytes] = {}
            self.playlists: dict[str, dict[str, Any]] = {}
            self.playlist_items: list[dict[str, Any]] = []
            self.revoked: list[str] = []
            self.faults: list[str] = []
            self.faults_answered: list[str] = []
            self.chunk_delay = 0.0
            self.bytes_received = 0
            self.refreshes = 0
            self.status_queries = 0
            self.video_upload_status = "processed"

    # --- Lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeYouTube:
        """Serve on a free port of 127.0.0.1 in a daemon thread."""
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeYouTube:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Return http://127.0.0.1:PORT."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def settings(self) -> dict[str, Any]:
        """Return the studio settings that point YouTube at this fake."""
        return {
            "YOUTUBE_CLIENT_ID": self.client_id,
            "YOUTUBE_CLIENT_SECRET": self.client_secret,
            "YOUTUBE_REDIRECT_URI": REDIRECT_URI,
            "YOUTUBE_AUTHORIZE_URL": f"{self.base_url}/o/oauth2/auth",
            "YOUTUBE_TOKEN_URL": f"{self.base_url}/token",
            "YOUTUBE_REVOKE_URL": f"{self.base_url}/revoke",
            "YOUTUBE_API_URL": self.base_url,
        }

    # --- Test helpers -------------------------------------------------------------------------

    def revoke_all(self) -> None:
        """Play the user removing the app's access in their Google account."""
        with self.lock:
            self.revoked.extend(self.refresh_tokens)
            self.refresh_tokens.clear()
            self.access_tokens.clear()

    def uploaded(self, video_id: str) -> bytes:
        """Return the bytes YouTube holds for a video."""
        for session in self.sessions.values():
            if session.video_id == video_id:
                return bytes(session.data)
        raise KeyError(video_id)

    def received_so_far(self) -> int:
        """Return the bytes held by the newest upload session."""
        with self.lock:
            sessions = list(self.sessions.values())
        return len(sessions[-1].data) if sessions else 0

    # --- State changes (called by the handler, under the lock) --------------------------------

    def issue_access(self, refresh_token: str) -> dict[str, Any]:
        token = "ya29." + secrets.token_urlsafe(24)
        self.access_tokens[token] = (refresh_token, time.time() + self.access_ttl)
        grant = self.refresh_tokens[refresh_token]
        return {
            "access_token": token,
            "expires_in": self.access_ttl,
            "token_type": "Bearer",
            "scope": " ".join(grant["scopes"]),
        }

    def bearer_ok(self, authorization: str) -> str | None:
        scheme, _, token = authorization.partition(" ")
        entry = self.access_tokens.get(token)
        if scheme.lower() != "bearer" or entry is None or entry[1] < time.time():
            return None
        return token


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeYouTube

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | socket.timeout):
            return
        super().handle_error(request, client_address)


class _Dropped(Exception):
    """The handler cut the connection on purpose."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeYouTube/1"

    @property
    def fake(self) -> FakeYouTube:
        assert isinstance(self.server, _Server)
        return self.server.fake

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake youtube: " + format, *args)

    # --- Plumbing -----------------------------------------------------------------------------

    def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, body: Any, **headers: str) -> None:
        self._send(status, json.dumps(body).encode(), Content_Type="application/json", **headers)

    def _error(self, status: int, reason: str) -> None:
        body = {"error": {"code": status, "message": reason, "errors": [{"reason": reason}]}}
        self._json(status, body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.path).query))

    def _authorized(self) -> bool:
        with self.fake.lock:
            ok = self.fake.bearer_ok(self.headers.get("Authorization", "")) is not None
        if not ok:
            self._body()
            self._error(401, "authError")
        return ok

    # --- Routing ------------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        routes = {
            "/o/oauth2/auth": self._authorize,
            "/youtube/v3/channels": self._channels,
            "/youtube/v3/videos": self._videos,
        }
        self._route(routes, path)

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        routes = {
            "/token": self._token,
            "/revoke": self._revoke,
            "/upload/youtube/v3/videos": self._start_upload,
            "/resumable/upload/youtube/v3/videos": self._start_upload,
            "/upload/youtube/v3/thumbnails/set": self._thumbnail,
            "/youtube/v3/playlists": self._playlist,
            "/youtube/v3/playlistItems": self._playlist_item,
        }
        self._route(routes, path)

    def do_PUT(self) -> None:
        try:
            self._put_chunk()
        except _Dropped:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    def _route(self, routes: dict[str, Any], path: str) -> None:
        handler = routes.get(path)
        if handler is None:
            self._body()
            self._error(404, "notFound")
            return
        handler()

    # --- OAuth --------------------------------------------------------------------------------

    def _authorize(self) -> None:
        fake, query = self.fake, self._query()
        if query.get("client_id") != fake.client_id or query.get("redirect_uri") != REDIRECT_URI:
            self._send(400, b"invalid client or redirect_uri")
            return
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            self._send(400, b"PKCE S256 required")
            return
        code = "4/" + secrets.token_urlsafe(24)
        with fake.lock:
            fake.codes[code] = {
                "challenge": query["code_challenge"],
                "scopes": query.get("scope", "").split(),
                "offline": query.get("access_type") == "offline",
            }
        location = f"{REDIRECT_URI}?code={code}&state={query.get('state', '')}"
        self._send(302, Location=location)

    def _client_ok(self) -> bool:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        user, _, password = base64.b64decode(value).decode().partition(":")
        return (user, password) == (self.fake.client_id, self.fake.client_secret)

    def _token(self) -> None:
        form = dict(parse_qsl(self._body().decode()))
        fake = self.fake
        if not self._client_ok():
            self._json(401, {"error": "invalid_client"})
            return
        with fake.lock:
            if form.get("grant_type") == "authorization_code":
                grant = fake.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                if grant is None or s256(verifier) != grant["challenge"]:
                    self._json(400, {"error": "invalid_grant"})
                    return
                if form.get("redirect_uri") != REDIRECT_URI:
                    self._json(400, {"error": "redirect_uri_mismatch"})
                    return
                refresh = "1//" + secrets.token_urlsafe(32)
                fake.refresh_tokens[refresh] = {"scopes": grant["scopes"]}
                body = fake.issue_access(refresh) | {"refresh_token": refresh}
            elif form.get("grant_type") == "refresh_token":
                refresh = form.get("refresh_token", "")
                if refresh not in fake.refresh_tokens:
                    self._json(400, {"error": "invalid_grant", "error_description": "revoked"})
                    return
                fake.refreshes += 1
                body = fake.issue_access(refresh)
            else:
                self._json(400, {"error": "unsupported_grant_type"})
                return
        self._json(200, body)

    def _revoke(self) -> None:
        token = dict(parse_qsl(self._body().decode())).get("token", "")
        fake = self.fake
        with fake.lock:
            refresh = token if token in fake.refresh_tokens else None
            if refresh is None and token in fake.access_tokens:
                refresh = fake.access_tokens[token][0]
            if refresh is None:
                self._json(400, {"error": "invalid_token"})
                return
            fake.refresh_tokens.pop(refresh, None)
            fake.revoked.append(refresh)
            for access in [a for a, (r, _) in fake.access_tokens.items() if r == refresh]:
                del fake.access_tokens[access]
        self._json(200, {})

    # --- Data API -----------------------------------------------------------------------------

    def _channels(self) -> None:
        if not self._authorized():
            return
        fake = self.fake
        # An account without a channel (channel_id "") lists none.
        items = [{"id": fake.channel_id, "snippet": {"title": fake.channel_title}}]
        self._json(
            200,
            {"kind": "youtube#channelListResponse", "items": items if fake.channel_id else []},
        )

    def _videos(self) -> None:
        if not self._authorized():
            return
        video = self.fake.videos.get(self._query().get("id", ""))
        items = []
        if video is not None:
            status = self.fake.video_upload_status
            items.append(
                {
                    "id": video["id"],
                    "status": {"uploadStatus": status, "privacyStatus": video["privacy"]}
                    | ({"failureReason": "codec"} if status == "failed" else {}),
                    "processingDetails": {
                        "processingStatus": "succeeded" if status == "processed" else "processing"
                    },
                }
            )
        self._json(200, {"kind": "youtube#videoListResponse", "items": items})

    def _playlist(self) -> None:
        if not self._authorized():
            return
        body = json.loads(self._body() or b"{}")
        playlist_id = "PL" + secrets.token_urlsafe(16)
        made = {
            "id": playlist_id,
            "snippet": body.get("snippet", {}),
            "status": body.get("status", {}),
        }
        with self.fake.lock:
            self.fake.playlists[playlist_id] = made
        self._json(200, made)

    def _playlist_item(self) -> None:
        if not self._authorized():
            return
        body = json.loads(self._body() or b"{}")
        snippet = body.get("snippet", {})
        with self.fake.lock:
            if snippet.get("playlistId") not in self.fake.playlists:
                self._error(404, "playlistNotFound")
                return
            self.fake.playlist_items.append(snippet)
        self._json(200, {"id": secrets.token_urlsafe(8), "snippet": snippet})

    def _thumbnail(self) -> None:
        if not self._authorized():
            return
        video_id = self._query().get("videoId", "")
        data = self._body()
        if video_id not in self.fake.videos:
            self._error(404, "videoNotFound")
            return
        with self.fake.lock:
            self.fake.thumbnails[video_id] = data
        self._json(
            200, {"items": [{"default": {"url": f"https://i.ytimg.com/vi/{video_id}/default.jpg"}}]}
        )

    # --- The resumable upload protocol --------------------------------------------------------

    def _start_upload(self) -> None:
        if not self._authorized():
            return
        if self._query().get("uploadType") != "resumable":
            self._body()
            self._error(400, "onlyResumableHere")
            return
        total = int(self.headers.get("X-Upload-Content-Length") or -1)
        metadata = json.loads(self._body() or b"{}")
        upload_id = secrets.token_urlsafe(16)
        with self.fake.lock:
            self.fake.sessions[upload_id] = _Session(total, metadata)
        location = (
            f"{self.fake.base_url}/upload/youtube/v3/videos"
            f"?uploadType=resumable&upload_id={upload_id}"
        )
        self._send(200, Location=location)

    def _put_chunk(self) -> None:
        fake = self.fake
        session = fake.sessions.get(self._query().get("upload_id", ""))
        content_range = self.headers.get("Content-Range", "")
        length = int(self.headers.get("Content-Length") or 0)
        if session is None:
            self.rfile.read(length)
            self._error(404, "uploadSessionNotFound")
            return
        if _QUERY.fullmatch(content_range):
            fake.status_queries += 1
            self._answer(session)
            return
        fault = ""
        with fake.lock:
            if fake.faults:
                fault = fake.faults.pop(0)
                fake.faults_answered.append(fault)
        if fault == "401":
            with fake.lock:
                token = fake.bearer_ok(self.headers.get("Authorization", ""))
                if token is not None:
                    refresh, _ = fake.access_tokens[token]
                    fake.access_tokens[token] = (refresh, 0.0)  # expired
        if fault == "gone":  # YouTube forgot the session (expired after a week, say)
            self.rfile.read(length)
            with fake.lock:
                fake.sessions = {k: v for k, v in fake.sessions.items() if v is not session}
            self._error(404, "uploadSessionNotFound")
            return
        if fault == "drop":
            kept = self.rfile.read(length // 2)
            self._append(session, content_range, kept)
            raise _Dropped()
        if not self._authorized():
            return
        data = self.rfile.read(length)
        with fake.lock:
            fake.bytes_received += len(data)
        if fake.chunk_delay:
            time.sleep(fake.chunk_delay)
        if fault == "400":  # a refusal no retry fixes (a bad request, say)
            self._error(400, "badRequest")
            return
        if fault in ("500", "503", "429"):
            self._error(int(fault), "backendError" if fault != "429" else "rateLimitExceeded")
            return
        self._append(session, content_range, data, counted=True)
        self._answer(session)

    def _append(
        self, session: _Session, content_range: str, data: bytes, counted: bool = False
    ) -> None:
        match = _RANGE.fullmatch(content_range)
        if match is None:
            return
        start = int(match.group(1))
        with self.fake.lock:
            if not counted:
                self.fake.bytes_received += len(data)
            held = len(session.data)
            # Bytes already held are not taken twice; a gap is refused (kept nothing).
            if start <= held:
                session.data += data[held - start :]

    def _answer(self, session: _Session) -> None:
        held = len(session.data)
        if held >= session.total >= 0:
            self._json(200, self._video(session))
            return
        headers = {"Range": f"bytes=0-{held - 1}"} if held else {}
        self._send(308, **headers)

    def _video(self, session: _Session) -> dict[str, Any]:
        with self.fake.lock:
            if not session.video_id:
                session.video_id = secrets.token_urlsafe(8)[:11]
                status = session.metadata.get("status", {})
                self.fake.videos[session.video_id] = {
                    "id": session.video_id,
                    "privacy": status.get("privacyStatus", "private"),
                    "metadata": session.metadata,
                }
        return {
            "kind": "youtube#video",
            "id": session.video_id,
            "snippet": session.metadata.get("snippet", {}),
            "status": {"uploadStatus": "uploaded"},
        }


async def consent(url: str) -> tuple[str, str]:
    """Open Google's consent URL as a browser would; return (code, state) from the redirect."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=5.0) as client:
        response = await client.get(url)
    assert response.status_code == 302, response.text
    params = httpx.URL(response.headers["Location"]).params
    return params["code"], params["state"]
