"""Client addresses behind proxies: which proxies are trusted, and whom X-Forwarded-For names."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

LOOPBACK = "127.0.0.0/8,::1"


def parse_networks(text: str) -> tuple[Network, ...]:
    """Parse a comma list of IP addresses and CIDR blocks; raise ValueError naming a bad one."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR block") from None
    return tuple(networks)


def parse_address(text: str) -> Address | None:
    """Return the IP address in `text` (IPv4-mapped IPv6 as IPv4), or None if it is not one."""
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """The proxies whose X-Forwarded-For header is believed."""

    def __init__(self, networks: str | tuple[Network, ...] = LOOPBACK) -> None:
        self.networks = parse_networks(networks) if isinstance(networks, str) else networks
        # Every call asks about the same few peers and hops: remember the answers.
        self._hop: Callable[[str], bool | None] = lru_cache(maxsize=1024)(self._judge)

    def trusts(self, address: str) -> bool:
        """Tell whether an address belongs to a trusted proxy."""
        return bool(self._hop(address))

    def _judge(self, address: str) -> bool | None:
        """Tell whether an address is a trusted proxy's; None when it is no IP address."""
        parsed = parse_address(address)
        if parsed is None:
            return None
        return any(parsed in network for network in self.networks)

    def client_address(self, peer: str, forwarded_for: str | None) -> str:
        """Return the caller's address: the rightmost forwarded hop that is not a trusted proxy.

        Each trusted proxy appends the address it saw, so walking from the right stops at the
        first hop no trusted proxy vouches for; anything further left is the client's own word.
        """
        if not forwarded_for or not self.trusts(peer):
            return peer
        nearest = peer
        for hop in reversed(forwarded_for.split(",")):
            hop = hop.strip()
            trusted = self._hop(hop)
            if trusted is None:
                return nearest  # garbage in the chain: stop at the last hop a proxy vouched for
            if not trusted:
                return hop
            nearest = hop
        return nearest  # every hop is a trusted proxy: the leftmost is as far as it goes
