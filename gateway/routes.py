"""Several backends behind one gateway: each gRPC service may live at a target of its own.

With every service in a process (or a Deployment) of its own there is no single backend: the
gateway sends a service's calls to its target, and everything else to the default backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import grpc


def service_of(path: str) -> str:
    """Return the full service name of a method path, `/package.Service/Method`."""
    return path.strip("/").split("/", 1)[0]


def target_for(service: str, default: str, routes: Mapping[str, str]) -> str:
    """Return where a service's calls go: its route, else the default backend."""
    return routes.get(service, default)


def distinct_targets(default: str, routes: Mapping[str, str]) -> list[str]:
    """Return every backend target once, the default first."""
    return list(dict.fromkeys([default, *routes.values()]))


def parse_route(text: str) -> tuple[str, str]:
    """Parse `SERVICE=HOST:PORT` (the target may be `unix:PATH`); raise ValueError if bad."""
    service, sep, target = text.partition("=")
    if not sep or not service.strip() or not target.strip():
        raise ValueError(f"a route is SERVICE=HOST:PORT, not {text!r}")
    return service.strip(), target.strip()


class RoutedChannel:
    """A channel for generated stubs that sends each call to its service's backend.

    It offers the four multi-callable factories and close(), which is all a stub uses.
    """

    def __init__(
        self,
        default: str,
        routes: Mapping[str, str],
        open_channel: Callable[[str], grpc.aio.Channel] = grpc.aio.insecure_channel,
    ) -> None:
        self.default = default
        self.routes = dict(routes)
        self._open = open_channel
        self._channels: dict[str, grpc.aio.Channel] = {}

    def channel_for(self, service: str) -> grpc.aio.Channel:
        """Return the channel of a service's backend, opening it on first use."""
        target = target_for(service, self.default, self.routes)
        if target not in self._channels:
            self._channels[target] = self._open(target)
        return self._channels[target]

    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Return the unary multi-callable on the method's backend."""
        return self.channel_for(service_of(method)).unary_unary(method, *args, **kwargs)

    def unary_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Return the server-streaming multi-callable on the method's backend."""
        return self.channel_for(service_of(method)).unary_stream(method, *args, **kwargs)

    def stream_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Return the client-streaming multi-callable on the method's backend."""
        return self.channel_for(service_of(method)).stream_unary(method, *args, **kwargs)

    def stream_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Return the bidi multi-callable on the method's backend."""
        return self.channel_for(service_of(method)).stream_stream(method, *args, **kwargs)

    async def close(self, grace: float | None = None) -> None:
        """Close every channel opened so far."""
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close(grace)
