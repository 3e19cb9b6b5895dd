"""AuthService through a real server: registration, login, refresh rotation, reuse detection,
logout, lockout, password rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import grpc
import pytest
from paysim_proto.v1 import auth_pb2, common_pb2

from tests.support.client import Stubs, expect_error
from tests.support.factories import PASSWORD, login, register_customer_user, register_merchant, unique_email
from tests.support.harness import ServerHandle


def register(stubs: Stubs, email: str, password: str = PASSWORD) -> auth_pb2.RegisterResponse:
    reply: auth_pb2.RegisterResponse = stubs.auth.Register(
        auth_pb2.RegisterRequest(email=email, password=password, full_name="Ada")
    )
    return reply


def test_register_then_login_returns_a_working_session(stubs: Stubs) -> None:
    email = unique_email()
    user = register(stubs, email.upper()).user
    assert user.email == email  # normalised to lower case
    assert user.role == common_pb2.ROLE_CUSTOMER
    assert user.id.startswith("usr_")
    session = login(stubs, email)
    assert session.tokens.token_type == "Bearer"
    assert session.tokens.refresh_token.startswith("rt_")
    lifetime = session.tokens.access_token_expire_time.ToDatetime() - session.user.create_time.ToDatetime()
    assert timedelta(minutes=14) < lifetime <= timedelta(minutes=15, seconds=5)
    me = stubs.as_(session.tokens.access_token).auth.GetCurrentUser(auth_pb2.GetCurrentUserRequest())
    assert me.user.id == user.id
    assert me.credential_kind == auth_pb2.CREDENTIAL_KIND_ACCESS_TOKEN


def test_duplicate_email_is_already_exists(stubs: Stubs) -> None:
    email = unique_email()
    register(stubs, email)
    err = expect_error(register, stubs, email.upper())
    assert err.code == grpc.StatusCode.ALREADY_EXISTS
    assert err.reason == "EMAIL_TAKEN"


def test_password_of_73_bytes_is_rejected_not_truncated(stubs: Stubs) -> None:
    err = expect_error(register, stubs, unique_email(), "a" * 73)
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "password" in err.field_violations
    assert "72 bytes" in err.field_violations["password"]
    # 72 bytes is the limit and is accepted; multi-byte characters count as bytes.
    register(stubs, unique_email(), "a" * 72)
    err = expect_error(register, stubs, unique_email(), "é" * 37)  # 74 bytes, 37 characters
    assert "password" in err.field_violations


def test_bad_registration_reports_every_field(stubs: Stubs) -> None:
    err = expect_error(
        stubs.auth.Register, auth_pb2.RegisterRequest(email="not-an-email", password="short", full_name="x" * 201)
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(err.field_violations) == {"email", "password", "full_name"}
    assert err.domain == "paysim.v1"


def test_unknown_email_and_wrong_password_are_indistinguishable(stubs: Stubs) -> None:
    email = unique_email()
    register(stubs, email)
    wrong = expect_error(login, stubs, email, "wrong password!")
    unknown = expect_error(login, stubs, unique_email(), "wrong password!")
    assert (wrong.code, wrong.reason, wrong.message) == (unknown.code, unknown.reason, unknown.message)
    assert wrong.code == grpc.StatusCode.UNAUTHENTICATED


def test_refresh_rotates_and_reuse_revokes_the_family(stubs: Stubs) -> None:
    email = unique_email()
    register(stubs, email)
    first = login(stubs, email).tokens
    second = stubs.auth.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=first.refresh_token)).tokens
    assert second.refresh_token != first.refresh_token
    third = stubs.auth.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=second.refresh_token)).tokens
    # Presenting an already-rotated token again: the whole session dies, including `third`.
    err = expect_error(stubs.auth.RefreshToken, auth_pb2.RefreshTokenRequest(refresh_token=first.refresh_token))
    assert err.code == grpc.StatusCode.UNAUTHENTICATED
    assert err.reason == "REFRESH_TOKEN_REUSED"
    err = expect_error(stubs.auth.RefreshToken, auth_pb2.RefreshTokenRequest(refresh_token=third.refresh_token))
    assert err.reason == "REFRESH_TOKEN_REVOKED"
    # Another login of the same user is a different family and is untouched.
    other = login(stubs, email).tokens
    stubs.auth.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=other.refresh_token))


def test_logout_revokes_the_session(stubs: Stubs) -> None:
    email = unique_email()
    register(stubs, email)
    tokens = login(stubs, email).tokens
    rotated = stubs.auth.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=tokens.refresh_token)).tokens
    stubs.auth.Logout(auth_pb2.LogoutRequest(refresh_token=rotated.refresh_token))
    err = expect_error(stubs.auth.RefreshToken, auth_pb2.RefreshTokenRequest(refresh_token=rotated.refresh_token))
    assert err.code == grpc.StatusCode.UNAUTHENTICATED
    assert err.reason == "REFRESH_TOKEN_REVOKED"
    err = expect_error(stubs.auth.Logout, auth_pb2.LogoutRequest(refresh_token="rt_unknown"))
    assert err.code == grpc.StatusCode.UNAUTHENTICATED


def test_refresh_token_expires(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    stubs = server.stubs()
    email = unique_email()
    register(stubs, email)
    tokens = login(stubs, email).tokens
    server.clock.advance(timedelta(days=7, seconds=1))
    err = expect_error(stubs.auth.RefreshToken, auth_pb2.RefreshTokenRequest(refresh_token=tokens.refresh_token))
    assert err.reason == "REFRESH_TOKEN_EXPIRED"


def test_expired_refresh_tokens_are_cleaned_up(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    stubs = server.stubs()
    email = unique_email()
    register(stubs, email)
    tokens = login(stubs, email).tokens
    assert server.run(server.server.maintenance.run_once()) == 0
    server.clock.advance(timedelta(days=8))
    assert server.run(server.server.maintenance.run_once()) >= 1
    err = expect_error(stubs.auth.RefreshToken, auth_pb2.RefreshTokenRequest(refresh_token=tokens.refresh_token))
    assert err.reason == "INVALID_REFRESH_TOKEN"


def test_ten_failures_lock_the_email_for_thirty_minutes(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    stubs = server.stubs()
    email = unique_email()
    register(stubs, email)
    for _ in range(9):
        assert expect_error(login, stubs, email, "wrong password!").reason == "INVALID_CREDENTIALS"
    tenth = expect_error(login, stubs, email, "wrong password!")
    assert tenth.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert tenth.reason == "LOGIN_LOCKED"
    assert tenth.retry_delay_seconds is not None and 29 * 60 < tenth.retry_delay_seconds <= 30 * 60
    # Locked: even the right password is refused, without revealing that it was right.
    locked = expect_error(login, stubs, email, PASSWORD)
    assert locked.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    # An unknown email locks the same way, so lockout does not reveal which emails exist.
    ghost = unique_email()
    for _ in range(10):
        last = expect_error(login, stubs, ghost, "wrong password!")
    assert last.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    server.clock.advance(timedelta(minutes=30, seconds=1))
    assert login(stubs, email).user.email == email
    # A success resets the count: nine more failures do not lock.
    for _ in range(9):
        expect_error(login, stubs, email, "wrong password!")
    assert login(stubs, email).user.email == email


def test_change_password_revokes_other_sessions(stubs: Stubs) -> None:
    email = unique_email()
    register(stubs, email)
    session = login(stubs, email)
    other = login(stubs, email)
    authed = stubs.as_(session.tokens.access_token)
    err = expect_error(
        authed.auth.ChangePassword,
        auth_pb2.ChangePasswordRequest(current_password="not it at all", new_password="another good one"),
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "current_password" in err.field_violations
    authed.auth.ChangePassword(
        auth_pb2.ChangePasswordRequest(current_password=PASSWORD, new_password="another good one")
    )
    err = expect_error(stubs.auth.RefreshToken, auth_pb2.RefreshTokenRequest(refresh_token=other.tokens.refresh_token))
    assert err.code == grpc.StatusCode.UNAUTHENTICATED
    expect_error(login, stubs, email, PASSWORD)
    assert login(stubs, email, "another good one").user.email == email


@pytest.mark.parametrize("kind", ["customer", "merchant"])
def test_current_user_describes_the_caller(stubs: Stubs, kind: str) -> None:
    if kind == "customer":
        account = register_customer_user(stubs)
        me = stubs.as_(account.access_token).auth.GetCurrentUser(auth_pb2.GetCurrentUserRequest())
        assert me.role == common_pb2.ROLE_CUSTOMER and me.merchant_id == ""
    else:
        merchant = register_merchant(stubs)
        me = stubs.as_(merchant.api_key).auth.GetCurrentUser(auth_pb2.GetCurrentUserRequest())
        assert me.credential_kind == auth_pb2.CREDENTIAL_KIND_API_KEY
        assert me.api_key_id == merchant.api_key_id and not me.HasField("user")
        assert me.role == common_pb2.ROLE_MERCHANT and me.merchant_id == merchant.merchant_id
