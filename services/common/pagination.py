"""AIP-158 pagination: bounded page sizes and opaque, tamper-evident page tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from services.common import errors


def page_size(value: int, *, default: int = 20, maximum: int = 100) -> int:
    """Return the effective page size: 0 means the default, above the maximum is capped."""
    if value < 0:
        raise errors.InvalidArgument.field("page_size", "must not be negative")
    if value == 0:
        return default
    return min(value, maximum)


class PageTokens:
    """Seal a keyset position into a token bound to the query it came from.

    The token is base64url(JSON) plus an HMAC over it and the query's filters, so a client can
    neither forge a position nor reuse a token with different filters.
    """

    def __init__(self, secret: str | bytes) -> None:
        key = secret.encode() if isinstance(secret, str) else secret
        self._key = hmac.new(key, b"filmstudio/page-token/v1", hashlib.sha256).digest()

    def _mac(self, payload: bytes, query: str) -> str:
        digest = hmac.new(self._key, payload + b"\x00" + query.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()

    def encode(self, position: dict[str, Any], query: str) -> str:
        """Return the token for the position after which the next page starts."""
        payload = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
        body = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
        return f"{body}.{self._mac(payload, query)}"

    def decode(self, token: str, query: str) -> dict[str, Any] | None:
        """Return the position in a token (None for an empty token) or raise InvalidArgument."""
        if not token:
            return None
        invalid = errors.InvalidArgument.field(
            "page_token", "is not a token from a previous call with the same filters"
        )
        body, _, mac = token.partition(".")
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (ValueError, TypeError):
            raise invalid from None
        if not mac or not hmac.compare_digest(mac, self._mac(payload, query)):
            raise invalid
        position = json.loads(payload)
        if not isinstance(position, dict):
            raise invalid
        return position


def query_key(**filters: object) -> str:
    """Return a stable string for the filters a page token is bound to."""
    return json.dumps(filters, sort_keys=True, default=str, separators=(",", ":"))


def newest_first(query: Any, created: Any, ident: Any, position: dict[str, Any] | None) -> Any:
    """Order by (created, id) descending and start after a page token's position."""
    if position is not None:
        after = datetime.fromisoformat(str(position["t"]))
        last = position["id"]
        query = query.where((created < after) | ((created == after) & (ident < last)))
    return query.order_by(created.desc(), ident.desc())


def newest_first_position(created_at: datetime, ident: int | str) -> dict[str, Any]:
    """Return the position to seal into the next page token for `newest_first`."""
    return {"t": created_at.isoformat(), "id": ident}
