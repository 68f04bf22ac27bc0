"""Per-route request body limits, and the nesting any JSON body may have.

A route's body limit comes from its RPC's declared message limit (a method option named in
GatewayConfig) with room for JSON's quoting and field names; it is checked against
Content-Length before reading and against the bytes read so far, so an oversized body is never
held whole. JSON nests at most MAX_JSON_DEPTH levels: no request needs more, and deeper input
would exhaust the parsers' recursion.
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Any

from google.protobuf.descriptor import MethodDescriptor

from gateway.config import GatewayConfig
from gateway.errors import GatewayError, bad_request
from gateway.routing import Binding

# A message's JSON is larger than its protobuf: quotes, escapes, field names, base64.
JSON_OVERHEAD = 2
MAX_JSON_DEPTH = 32
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPENING = frozenset(b"{[")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"{}[]")


def declared_bytes(method: MethodDescriptor, extension: object | None) -> int:
    """Return the largest request the method declares through the extension, 0 if none."""
    if extension is None:
        return 0
    options = method.GetOptions()
    try:
        if not options.HasExtension(extension):  # type: ignore[arg-type]
            return 0
        return int(options.Extensions[extension])  # type: ignore[index]
    except KeyError:
        return 0


class BodyLimits:
    """The body limit of each route, worked out on first use."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self._limits: dict[str, int] = {}

    def of(self, binding: Binding) -> int:
        """Return the largest body the binding's route accepts, in bytes."""
        name = binding.method.full_name
        limit = self._limits.get(name)
        if limit is None:
            limit = self._limits[name] = self._work_out(binding)
        return limit

    def _work_out(self, binding: Binding) -> int:
        config = self.config
        if binding.client_streaming or config.request_limit_extension is None:
            return config.max_body_bytes
        declared = declared_bytes(binding.method, config.request_limit_extension)
        message_bytes = declared or config.default_request_bytes
        return min(config.max_body_bytes, JSON_OVERHEAD * message_bytes)


def too_deep() -> GatewayError:
    """Return the 400 for a JSON body nested past MAX_JSON_DEPTH."""
    return bad_request("", f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels", "TOO_DEEP")


def check_depth(body: bytes) -> None:
    """Refuse a body whose brackets nest past MAX_JSON_DEPTH, before json parses it.

    Counting brackets is C-speed and almost every body has few; only one with many has its
    strings dropped and its remaining brackets followed.
    """
    if body.count(b"{") + body.count(b"[") <= MAX_JSON_DEPTH:
        return
    brackets = _STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS)
    if max(accumulate(1 if byte in _OPENING else -1 for byte in brackets)) > MAX_JSON_DEPTH:
        raise too_deep()


def value_depth(value: Any) -> int:
    """Return how deep a decoded JSON value nests (for tests and callers that decode first)."""
    if isinstance(value, dict):
        return 1 + max((value_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((value_depth(item) for item in value), default=0)
    return 0
