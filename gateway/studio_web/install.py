"""Put the web page and its routes on a gateway."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.studio_web.artifacts import ARTIFACT, ArtifactRoute
from gateway.studio_web.http import Backend
from gateway.studio_web.oauth import START, OAuthRoutes, hand_to_page
from gateway.studio_web.pages import page_routes
from gateway.studio_web.session import SessionRoutes


class _Closer:
    """A raw route entry whose only job is closing the shared channel at shutdown."""

    def __init__(self, backend: Backend, route: Any) -> None:
        self.backend, self.route = backend, route

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.route(scope, receive, send)

    async def close(self) -> None:
        await self.backend.close()


def add_web_app(
    gateway: Any,
    backend: str,
    settings: dict[str, Any],
    youtube_callback: str = "",
    routes: Mapping[str, str] | None = None,
) -> None:
    """Serve the page at `/` and its session, sign-in and artifact routes on `gateway`.

    `routes` puts services at backends of their own (full service name -> target).
    """
    channel = Backend(backend, routes)
    session = SessionRoutes(channel)
    gateway.raw_routes.update(session.routes())
    gateway.raw_routes[ARTIFACT] = _Closer(channel, ArtifactRoute(channel))
    gateway.page_routes.update(page_routes(settings))
    oauth = OAuthRoutes(channel)
    gateway.raw_routes[START] = oauth.start
    gateway.page_routes.update(oauth.callbacks())
    if youtube_callback:
        gateway.page_routes[youtube_callback] = hand_to_page("/#/youtube")
