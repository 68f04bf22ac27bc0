"""Trusted proxies: peers whose X-Forwarded-For the gateway extends instead of replacing."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from functools import lru_cache

LOOPBACK = ("127.0.0.0/8", "::1")


class TrustedProxies:
    """A set of IP networks; a peer inside one may tell us whom it forwards for."""

    def __init__(self, networks: Iterable[str] = LOOPBACK) -> None:
        self.networks = tuple(
            ipaddress.ip_network(item.strip(), strict=False) for item in networks if item.strip()
        )
        # Requests come from the same few peers: remember the answers.
        self.trusts: Callable[[str], bool] = lru_cache(maxsize=1024)(self._trusts)

    def _trusts(self, address: str) -> bool:
        """Tell whether an address (IPv4-mapped IPv6 counts as IPv4) is a trusted proxy's."""
        try:
            parsed = ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            return False
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
            parsed = parsed.ipv4_mapped
        return any(parsed in network for network in self.networks)
