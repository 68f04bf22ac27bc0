"""HTTP/1.1 response trailers: who asks for them; gateway/http1.py sends them on uvicorn."""

from __future__ import annotations

from typing import Any

EXTENSION = "http.response.trailers"


def asks_for_trailers(scope: Any) -> bool:
    """Tell whether the request's TE header accepts trailers (RFC 9110 section 10.1.4)."""
    for name, value in scope.get("headers", ()):
        if name == b"te" and b"trailers" in value.lower():
            return True
    return False
