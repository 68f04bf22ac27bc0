"""The token codec: pinned algorithm and claims, HS256 by default, RS256 and EdDSA by config."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from services.common.config import Settings
from services.common.errors import Unauthenticated
from services.common.tokens import ACCESS, REFRESH, TokenCodec


def _pem_pair(private_key) -> tuple[str, str]:
    private = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.mark.parametrize(
    ("algorithm", "key"),
    [
        ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("EdDSA", ed25519.Ed25519PrivateKey.generate),
    ],
)
def test_asymmetric_algorithms_sign_and_verify(algorithm, key) -> None:
    private, public = _pem_pair(key())
    settings = Settings(JWT_ALGORITHM=algorithm, JWT_PRIVATE_KEY=private, JWT_PUBLIC_KEY=public)
    codec = TokenCodec.from_settings(settings)
    token, _ = codec.encode(subject="1", token_type=ACCESS, ttl_seconds=60)
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    assert codec.decode(token, expected_types=(ACCESS,))["sub"] == "1"


def test_hs256_tokens_are_refused_by_an_rs256_verifier(tmp_path) -> None:
    private, public = _pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    rs = TokenCodec.from_settings(
        Settings(JWT_ALGORITHM="RS256", JWT_PRIVATE_KEY=private, JWT_PUBLIC_KEY=public)
    )
    # The classic confusion attack: sign with HMAC using the public key as the secret.
    claims = {"iss": "filmstudio", "aud": "filmstudio-api", "sub": "1", "typ": "access"}
    forged = jwt.encode(claims, "x" * 40, algorithm="HS256")
    with pytest.raises(Unauthenticated):
        rs.decode(forged, expected_types=(ACCESS,))


def test_token_types_are_not_interchangeable(tmp_path) -> None:
    codec = TokenCodec.from_settings(Settings(FILMSTUDIO_VAR_DIR=str(tmp_path)))
    refresh, _ = codec.encode(subject="1", token_type=REFRESH, ttl_seconds=60)
    with pytest.raises(Unauthenticated):
        codec.decode(refresh, expected_types=(ACCESS,))


def test_tokens_missing_a_required_claim_are_refused(tmp_path) -> None:
    settings = Settings(FILMSTUDIO_VAR_DIR=str(tmp_path))
    codec = TokenCodec.from_settings(settings)
    no_jti = jwt.encode(
        {
            "iss": "filmstudio",
            "aud": "filmstudio-api",
            "sub": "1",
            "typ": "access",
            "iat": 1,
            "exp": 4102444800,
        },
        settings.signing_secret(),
        algorithm="HS256",
    )
    with pytest.raises(Unauthenticated):
        codec.decode(no_jti, expected_types=(ACCESS,))


def _authenticator(leeway: int = 0):
    from services.common.auth import JwtAuthenticator

    codec = TokenCodec.from_settings(Settings(JWT_SECRET="s" * 48, JWT_LEEWAY_SECONDS=leeway))
    return codec, JwtAuthenticator(codec)


async def test_a_remembered_token_still_expires_on_time() -> None:
    import asyncio

    codec, authenticator = _authenticator()
    token, _ = codec.encode(subject="7", token_type=ACCESS, ttl_seconds=1)
    first = await authenticator.authenticate(token)
    assert (await authenticator.authenticate(token)) is first  # served from memory
    await asyncio.sleep(2.05)  # exp has whole seconds: past it whatever the second it was issued in
    with pytest.raises(Unauthenticated) as refused:
        await authenticator.authenticate(token)
    assert refused.value.reason == "TOKEN_EXPIRED"


async def test_only_the_exact_verified_text_is_remembered() -> None:
    codec, authenticator = _authenticator()
    token, _ = codec.encode(subject="7", token_type=ACCESS, ttl_seconds=60)
    await authenticator.authenticate(token)
    head, payload, signature = token.split(".")
    forged = ".".join((head, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")))
    with pytest.raises(Unauthenticated):
        await authenticator.authenticate(forged)
    refresh, _ = codec.encode(subject="7", token_type=REFRESH, ttl_seconds=60)
    with pytest.raises(Unauthenticated):
        await authenticator.authenticate(refresh)
