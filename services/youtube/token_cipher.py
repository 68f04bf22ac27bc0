"""Refresh tokens encrypted at rest: AES-256-GCM under a named key, rotatable by key id.

A stored token is "v1.<kid>.<base64url(nonce || ciphertext)>". The first configured key
encrypts; every configured key decrypts, so a new key can be put first and the old ones kept
until `filmstudio youtube rotate-keys` has re-encrypted the rows. The row's owner is bound in
as associated data, so a ciphertext copied to another user's row does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.common.config import ConfigError, Settings

PREFIX = "v1"
NONCE_BYTES = 12


class TokenUnreadable(Exception):
    """A stored token could not be decrypted with any configured key."""


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenCipher:
    """Encrypt and decrypt tokens with the configured keys, the first one current."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ConfigError("YOUTUBE_TOKEN_KEYS: at least one key is needed")
        self.current = keys[0][0]
        self._keys = {kid: AESGCM(key) for kid, key in keys}

    @classmethod
    def parse(cls, spec: str) -> TokenCipher:
        """Build from "kid:base64url-key[,kid:key...]" (32-byte keys)."""
        keys: list[tuple[str, bytes]] = []
        for part in filter(None, (p.strip() for p in spec.split(","))):
            kid, _, encoded = part.partition(":")
            if not kid.isalnum() or not encoded:
                raise ConfigError("YOUTUBE_TOKEN_KEYS: each key is kid:base64url-key")
            try:
                key = _b64decode(encoded)
            except (binascii.Error, ValueError):
                raise ConfigError(f"YOUTUBE_TOKEN_KEYS: key {kid} is not base64url") from None
            if len(key) != 32:
                raise ConfigError(f"YOUTUBE_TOKEN_KEYS: key {kid} must be 32 bytes")
            keys.append((kid, key))
        return cls(keys)

    @classmethod
    def from_settings(cls, settings: Settings, fallback: bytes) -> TokenCipher:
        """Return the configured cipher; outside production a key derived from the app secret."""
        if settings.youtube_token_keys is not None:
            return cls.parse(settings.youtube_token_keys.get_secret_value())
        if settings.is_production:
            raise ConfigError("YOUTUBE_TOKEN_KEYS is required in production")
        return cls([("dev", fallback[:32].ljust(32, b"\0"))])

    def encrypt(self, plaintext: str, owner: str) -> str:
        """Return the stored form of a token, bound to its owner."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self.current].encrypt(nonce, plaintext.encode(), owner.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()
        return f"{PREFIX}.{self.current}.{body}"

    def decrypt(self, stored: str, owner: str) -> str:
        """Return a stored token in clear, or raise TokenUnreadable."""
        version, _, rest = stored.partition(".")
        kid, _, body = rest.partition(".")
        aead = self._keys.get(kid)
        if version != PREFIX or aead is None:
            raise TokenUnreadable(f"no key {kid!r} to decrypt with")
        try:
            raw = _b64decode(body)
            return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], owner.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError):
            raise TokenUnreadable("token does not decrypt") from None

    def is_current(self, stored: str) -> bool:
        """Tell whether a stored token is under the current key (else rotate it)."""
        return stored.split(".", 2)[1:2] == [self.current]
