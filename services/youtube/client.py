"""The Data API client of google-api-python-client, pointed at the configured endpoints.

The bundled discovery document is used (no network), with its rootUrl replaced: the library
swaps only host and port for uploads when given `api_endpoint`, keeping https, so the document
itself names the root. The httplib2 transport forgets 308 as a redirect (it is the resumable
protocol's "continue"), ignores proxy variables, and refreshes the token through the worker's
token source, never a refresh token of its own.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import google_auth_httplib2
import googleapiclient
import httplib2
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build_from_document

from services.common.config import Settings

HTTP_TIMEOUT_SECONDS = 120
TokenSource = Callable[..., tuple[str, datetime]]


@functools.cache
def _document() -> dict[str, Any]:
    path = Path(googleapiclient.__file__).parent / "discovery_cache/documents/youtube.v3.json"
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def build(settings: Settings, tokens: TokenSource) -> tuple[Any, Any]:
    """Return the youtube v3 client and its authorized transport."""
    token, expiry = tokens()

    def refresh(request: Any, scopes: Any) -> tuple[str, datetime]:
        # Called on expiry and on a 401: the token we hold was refused, so ask for a new one.
        return tokens(True)

    credentials = Credentials(  # type: ignore[no-untyped-call]
        token, expiry=expiry, refresh_handler=refresh
    )
    raw = httplib2.Http(timeout=HTTP_TIMEOUT_SECONDS, proxy_info=None)
    raw.redirect_codes = raw.redirect_codes - {308}
    http = google_auth_httplib2.AuthorizedHttp(credentials, http=raw)
    root = settings.youtube_api_url.rstrip("/") + "/"
    document = {**_document(), "rootUrl": root, "mtlsRootUrl": root, "baseUrl": root}
    return build_from_document(document, http=http), http
