"""Unit tests of pure logic: paging tokens, validation, settings, roles, error mapping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from google.rpc import code_pb2, error_details_pb2

from paysim.app.error_mapping import to_status_proto
from paysim.app.policy import POLICIES
from paysim.config import ConfigError, Settings
from paysim.domain import paging
from paysim.domain.errors import (
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
)
from paysim.domain.principal import CredentialKind, Principal
from paysim.domain.roles import Permission, Role
from paysim.domain.validation import Violations, check_password
from paysim.security import secrets, signing_key
from paysim.security.passwords import PasswordHasher


def test_page_token_round_trip_and_binding() -> None:
    cursor = paging.Cursor(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), "cus_abc")
    token = paging.encode("customers", ("mer_1", ""), cursor)
    assert paging.decode(token, "customers", ("mer_1", "")) == cursor
    with pytest.raises(InvalidArgument):
        paging.decode(token, "customers", ("mer_2", ""))
    with pytest.raises(InvalidArgument):
        paging.decode(token, "merchants", ("mer_1", ""))
    assert paging.decode("", "customers", ()) is None


@pytest.mark.parametrize("token", ["!!!", "e30", "eyJxIjoxfQ", "bnVsbA", "W10"])
def test_malformed_page_tokens_are_invalid_argument(token: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        paging.decode(token, "customers", ())
    assert caught.value.violations[0].field == "page_token"


@pytest.mark.parametrize(
    ("password", "ok"),
    [("12345678", True), ("1234567", False), ("a" * 72, True), ("a" * 73, False), ("ü" * 36, True), ("ü" * 37, False)],
)
def test_password_rules_count_bytes_not_characters(password: str, ok: bool) -> None:
    v = Violations()
    check_password(v, "password", password)
    assert (not v.items) is ok


def test_bcrypt_cost_is_twelve_by_default_and_hashes_off_the_loop() -> None:
    assert Settings().bcrypt_rounds == 12
    hasher = PasswordHasher(12)
    try:
        digest = asyncio.run(hasher.hash("correct horse"))
        assert digest.startswith("$2b$12$")
        assert asyncio.run(hasher.verify("correct horse", digest))
        assert not asyncio.run(hasher.verify("wrong horse", digest))
        assert not asyncio.run(hasher.verify("correct horse", None))
        with pytest.raises(ValueError):
            asyncio.run(hasher.hash("x" * 73))
    finally:
        hasher.close()


def test_settings_from_env_and_bad_values() -> None:
    s = Settings.from_env({"PAYSIM_LISTEN": "0.0.0.0:1", "PAYSIM_BCRYPT_ROUNDS": "10", "PAYSIM_DATA_DIR": "/tmp/x"})
    assert (s.listen, s.bcrypt_rounds, s.data_dir) == ("0.0.0.0:1", 10, Path("/tmp/x"))
    assert s.effective_database_url == "sqlite:////tmp/x/paysim.db"
    with pytest.raises(ConfigError):
        Settings.from_env({"PAYSIM_BCRYPT_ROUNDS": "lots"})
    with pytest.raises(ConfigError):
        Settings.from_env({"PAYSIM_BCRYPT_ROUNDS": "3"})
    with pytest.raises(ConfigError):
        Settings.from_env({"PAYSIM_JWT_SECRET": "too short"})


def test_api_keys_cannot_manage_keys_or_passwords() -> None:
    key = Principal(CredentialKind.API_KEY, Role.MERCHANT, merchant_id="mer_1", api_key_id="key_1")
    user = Principal(CredentialKind.ACCESS_TOKEN, Role.MERCHANT, user_id="usr_1", merchant_id="mer_1")
    assert not key.can(Permission.API_KEY_MANAGE) and user.can(Permission.API_KEY_MANAGE)
    assert not key.can(Permission.PASSWORD_CHANGE)
    assert key.can(Permission.CUSTOMER_WRITE)
    admin = Principal(CredentialKind.ACCESS_TOKEN, Role.ADMIN, user_id="usr_2")
    assert all(admin.can(p) for p in Permission)


def test_every_policy_permission_exists() -> None:
    for method, policy in POLICIES.items():
        assert method.startswith("/")
        assert policy.public or policy.permission is None or policy.permission in Permission


def test_error_mapping_carries_rich_details() -> None:
    status = to_status_proto(InvalidArgument([FieldViolation("email", "bad")]), "rid-1")
    assert status.code == code_pb2.INVALID_ARGUMENT
    kinds = [d.type_url.rsplit("/", 1)[-1] for d in status.details]
    assert kinds == ["google.rpc.ErrorInfo", "google.rpc.BadRequest", "google.rpc.RequestInfo"]
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    assert (info.reason, info.domain) == ("INVALID_ARGUMENT", "paysim.v1")

    throttled = to_status_proto(ResourceExhausted("slow", retry_after_seconds=1.5, quota_subject="k"), "r")
    kinds = [d.type_url.rsplit("/", 1)[-1] for d in throttled.details]
    assert "google.rpc.RetryInfo" in kinds and "google.rpc.QuotaFailure" in kinds
    retry = error_details_pb2.RetryInfo()
    next(d for d in throttled.details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)).Unpack(retry)
    assert (retry.retry_delay.seconds, retry.retry_delay.nanos) == (1, 500_000_000)

    assert to_status_proto(Unavailable("db"), "r").code == code_pb2.UNAVAILABLE
    assert to_status_proto(PermissionDenied("no"), "r").code == code_pb2.PERMISSION_DENIED
    missing = to_status_proto(NotFound("customer", "cus_1"), "r")
    assert missing.code == code_pb2.NOT_FOUND


def test_api_key_format_and_digest() -> None:
    key, prefix = secrets.new_api_key()
    assert secrets.looks_like_api_key(key) and key.startswith(prefix) and len(prefix) == len("sk_test_") + 12
    assert secrets.matches(key, secrets.digest(key)) and not secrets.matches(key + "x", secrets.digest(key))


def test_development_signing_key_is_generated_once_and_private(tmp_path: Path) -> None:
    first = signing_key.load_or_create("", tmp_path)
    assert len(first) >= 32 and signing_key.load_or_create("", tmp_path) == first
    assert (tmp_path / signing_key.KEY_FILE).stat().st_mode & 0o077 == 0
    assert signing_key.load_or_create("x" * 40, tmp_path) == b"x" * 40
