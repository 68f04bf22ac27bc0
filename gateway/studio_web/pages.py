"""The page's files: index.html at `/`, its script and style under /app/, and its settings."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from gateway.asgi import Receive, Scope, Send, send_bytes
from gateway.studio_web.http import SECURITY_HEADERS

STATIC = Path(__file__).resolve().parent / "static"
FILES = {
    "/": ("index.html", b"text/html; charset=utf-8"),
    "/app/app.js": ("app.js", b"text/javascript; charset=utf-8"),
    "/app/api.js": ("api.js", b"text/javascript; charset=utf-8"),
    "/app/views.js": ("views.js", b"text/javascript; charset=utf-8"),
    "/app/youtube.js": ("youtube.js", b"text/javascript; charset=utf-8"),
    "/app/style.css": ("style.css", b"text/css; charset=utf-8"),
}
# The page runs only its own script and style; media and images may come from blob: URLs.
CONTENT_SECURITY_POLICY = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    b"media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    b"frame-ancestors 'none'; form-action 'self'"
)

Route = Callable[[Scope, Receive, Send], Awaitable[None]]


def page_routes(settings: dict[str, Any]) -> dict[str, Route]:
    """Return the GET routes by path; `settings` is served as /app/config.json."""
    routes: dict[str, Route] = {path: _file_route(*entry) for path, entry in FILES.items()}
    config = json.dumps(settings, separators=(",", ":")).encode()

    async def config_json(scope: Scope, receive: Receive, send: Send) -> None:
        await send_bytes(send, 200, config, headers=SECURITY_HEADERS)

    async def no_icon(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    routes["/app/config.json"] = config_json
    routes["/favicon.ico"] = no_icon
    return routes


def _file_route(name: str, content_type: bytes) -> Route:
    cache: list[bytes] = []

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        if not cache:  # read once: the files ship with the package and never change
            cache.append((STATIC / name).read_bytes())
        headers = (*SECURITY_HEADERS, (b"content-security-policy", CONTENT_SECURITY_POLICY))
        await send_bytes(send, 200, cache[0], content_type, headers)

    return route
