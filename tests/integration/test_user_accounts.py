"""Registration, sign-in, profile and password over real gRPC on PostgreSQL."""

from __future__ import annotations

import statistics
import time
import uuid

import grpc
import pytest
from filmstudio.v1 import user_pb2
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.user.passwords import DummyHash, hash_password_sync
from services.user.user_service import UserService
from tests.support.studio import TEST_PASSWORD
from tests.support.users import Client, error_of


def _email(tag: str = "") -> str:
    return f"{tag or 'user'}-{uuid.uuid4().hex[:10]}@Example.COM"


def _violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)
    assert status is not None
    found = {}
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            found.update({v.field: v.reason or v.description for v in bad.field_violations})
    return found


def _reason(error: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""


@pytest.fixture
def client(live) -> Client:
    return Client(live[1])


async def test_email_is_normalised_and_unique_case_insensitively(client) -> None:
    address = _email()
    await client.register(address)
    signed_in = await client.login(address.lower())
    assert signed_in.user.email == address.lower()
    assert signed_in.user.name.startswith("users/")
    again = await client.register(address.upper())
    assert again.user.email == address.lower()
    assert again.user.name == "", "a taken address gets an answer that reveals nothing"


async def test_registration_answers_the_same_whether_or_not_the_email_is_taken(client) -> None:
    address = _email()
    first = await client.register(address)
    second = await client.register(address)
    assert first == second


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "TOO_SHORT"),
        ("x" * 129, "TOO_LONG"),
        ("password", "COMMON_PASSWORD"),
        ("Password1", "COMMON_PASSWORD"),
        ("qwertyuiop", "COMMON_PASSWORD"),
    ],
)
async def test_weak_passwords_are_refused_with_a_field_violation(client, password, reason) -> None:
    error = await error_of(client.register(_email(), password))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(error) == {"password": reason}


async def test_long_passphrases_work_and_are_never_truncated(client) -> None:
    address = _email()
    # 100 characters, 300 bytes: far past bcrypt's 72-byte limit.
    passphrase = "ünïcødé " * 12 + "end"
    await client.register(address, passphrase)
    await client.login(address, passphrase)
    same_first_72_bytes = passphrase[:-3] + "END"
    error = await error_of(client.login(address, same_first_72_bytes))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_bad_registration_fields_each_get_a_violation(client) -> None:
    request = user_pb2.RegisterUserRequest(
        email="not-an-email", password="abc", first_name="x" * 101, last_name="ok\x00"
    )
    error = await error_of(client.call("RegisterUser", request))
    assert set(_violations(error)) == {"email", "password", "first_name", "last_name"}


def test_passwords_are_bcrypted_at_cost_12_by_default() -> None:
    stored = hash_password_sync(TEST_PASSWORD)
    assert stored.startswith("bcrypt-hmac-sha384-v1$$2b$12$")


async def test_login_returns_short_lived_tokens_with_every_claim(client) -> None:
    import jwt

    address = _email()
    await client.register(address)
    response = await client.login(address)
    claims = jwt.decode(response.tokens.access_token, options={"verify_signature": False})
    assert {"iss", "aud", "sub", "exp", "iat", "jti", "sid", "typ", "role"} <= set(claims)
    assert claims["typ"] == "access"
    assert claims["exp"] - claims["iat"] == 900
    refresh = jwt.decode(response.tokens.refresh_token, options={"verify_signature": False})
    assert refresh["typ"] == "refresh"
    assert refresh["sid"] == claims["sid"]
    assert response.tokens.token_type == "Bearer"


async def test_wrong_and_unknown_logins_answer_identically(client) -> None:
    address = _email()
    await client.register(address)
    wrong = await error_of(client.login(address, "not the password at all"))
    unknown = await error_of(client.login(_email("ghost"), "not the password at all"))
    assert (wrong.code(), wrong.details(), _reason(wrong)) == (
        unknown.code(),
        unknown.details(),
        _reason(unknown),
    )
    assert wrong.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_failed_logins_lock_the_account_with_growing_waits(client) -> None:
    address = _email()
    await client.register(address)
    for _ in range(4):
        error = await error_of(Client(client.channel).login(address, "wrong password!"))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    await error_of(Client(client.channel).login(address, "wrong password!"))
    locked = await error_of(Client(client.channel).login(address))  # even the right password
    assert locked.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _reason(locked) == "TOO_MANY_ATTEMPTS"
    status = rpc_status.from_call(locked)
    retry = error_details_pb2.RetryInfo()
    assert any(detail.Unpack(retry) for detail in status.details)
    assert 0 < retry.retry_delay.seconds <= 30


async def test_unknown_accounts_lock_the_same_way(client) -> None:
    ghost = _email("ghost")
    for _ in range(5):
        await error_of(Client(client.channel).login(ghost, "wrong password!"))
    locked = await error_of(Client(client.channel).login(ghost, "wrong password!"))
    assert locked.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_one_address_failing_on_many_accounts_is_locked_out(client) -> None:
    for _ in range(20):
        await error_of(client.login(_email("spray"), "wrong password!"))
    locked = await error_of(client.login(_email("spray"), "wrong password!"))
    assert locked.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    other = Client(client.channel)
    address = _email()
    await other.register(address)
    await other.login(address)  # another address is unaffected


async def test_unknown_and_known_accounts_take_similar_time(live) -> None:
    server, channel = live
    users = server.app.get(UserService)
    # Cost 8 makes the hash dominate the round trip, as cost 12 does in production.
    hasher = users.hasher
    saved = hasher.rounds, hasher.dummy
    hasher.rounds, hasher.dummy = 8, DummyHash(8)
    address = _email()
    await Client(channel).register(address)

    async def timed(email_address: str) -> float:
        started = time.perf_counter()
        await error_of(Client(channel).login(email_address, "wrong password!"))
        return time.perf_counter() - started

    try:
        known = [await timed(address) for _ in range(4)]
        unknown = [await timed(_email("ghost")) for _ in range(4)]
    finally:
        hasher.rounds, hasher.dummy = saved
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.5 < ratio < 2.0, f"unknown/known login time ratio {ratio:.2f}"


async def test_get_me_and_profile_updates_with_a_mask(client) -> None:
    address = _email()
    await client.register(address)
    await client.login(address)
    me = (await client.call("GetMe", user_pb2.GetMeRequest())).user
    assert (me.first_name, me.email_verified) == ("Ada", False)
    request = user_pb2.UpdateUserProfileRequest(
        user=user_pb2.User(
            name="users/me", first_name="Grace", last_name="ignored", locale="fr-CA"
        ),
        update_mask=field_mask_pb2.FieldMask(paths=["first_name", "locale"]),
    )
    updated = (await client.call("UpdateUserProfile", request)).user
    assert (updated.first_name, updated.last_name, updated.locale) == ("Grace", "Lovelace", "fr-CA")


@pytest.mark.parametrize(
    ("user", "paths", "field"),
    [
        (
            user_pb2.User(avatar_url="http://insecure.example/a.png"),
            ["avatar_url"],
            "user.avatar_url",
        ),
        (user_pb2.User(locale="english please"), ["locale"], "user.locale"),
        (user_pb2.User(first_name="a\nb"), ["first_name"], "user.first_name"),
        (user_pb2.User(email="new@example.com"), ["email"], "update_mask"),
        (user_pb2.User(first_name="x"), [], "update_mask"),
    ],
)
async def test_invalid_profile_updates_name_the_field(client, user, paths, field) -> None:
    address = _email()
    await client.register(address)
    await client.login(address)
    user.name = "users/me"
    request = user_pb2.UpdateUserProfileRequest(
        user=user, update_mask=field_mask_pb2.FieldMask(paths=paths)
    )
    error = await error_of(client.call("UpdateUserProfile", request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in _violations(error)


async def test_a_user_cannot_touch_another_users_profile(client) -> None:
    victim, attacker = Client(client.channel), Client(client.channel)
    victim_email, attacker_email = _email("victim"), _email("attacker")
    await victim.register(victim_email)
    victim_name = (await victim.login(victim_email)).user.name
    await attacker.register(attacker_email)
    await attacker.login(attacker_email)
    request = user_pb2.UpdateUserProfileRequest(
        user=user_pb2.User(name=victim_name, first_name="Pwned"),
        update_mask=field_mask_pb2.FieldMask(paths=["first_name"]),
    )
    error = await error_of(attacker.call("UpdateUserProfile", request))
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_change_password_needs_the_current_one_and_ends_other_sessions(client) -> None:
    address = _email()
    await client.register(address)
    laptop, phone = Client(client.channel), Client(client.channel)
    await laptop.login(address)
    await phone.login(address)
    wrong = user_pb2.ChangePasswordRequest(
        current_password="nope nope", new_password="a new long passphrase"
    )
    error = await error_of(laptop.call("ChangePassword", wrong))
    assert _violations(error) == {"current_password": "is not the current password"}

    right = user_pb2.ChangePasswordRequest(
        current_password=TEST_PASSWORD, new_password="a new long passphrase"
    )
    changed = await laptop.call("ChangePassword", right)
    await laptop.call("GetMe", user_pb2.GetMeRequest(), token=changed.tokens.access_token)
    dead = await error_of(phone.call("GetMe", user_pb2.GetMeRequest()))
    assert dead.code() == grpc.StatusCode.UNAUTHENTICATED
    old = await error_of(Client(client.channel).login(address))
    assert old.code() == grpc.StatusCode.UNAUTHENTICATED
    await Client(client.channel).login(address, "a new long passphrase")


async def test_suspended_users_lose_their_sessions_and_cannot_sign_in(live, client) -> None:
    server, _ = live
    address = _email()
    await client.register(address)
    me = await client.login(address)
    user_id = int(me.user.name.split("/")[1])
    await server.app.get(UserService).suspend_user(user_id, "test")
    error = await error_of(client.call("GetMe", user_pb2.GetMeRequest()))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    refused = await error_of(Client(client.channel).login(address))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    await server.app.get(UserService).reactivate_user(user_id, "test")
    await Client(client.channel).login(address)
