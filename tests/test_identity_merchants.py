"""MerchantService through a real server: registration, profile, admin lifecycle, API keys."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from paysim_proto.v1 import auth_pb2, common_pb2, merchant_pb2

from tests.support.client import Stubs, expect_error
from tests.support.factories import PASSWORD, login, register_merchant, unique, unique_email
from tests.support.harness import ServerHandle


def test_register_merchant_creates_owner_and_rejects_duplicates(stubs: Stubs) -> None:
    name = unique("Bakery")
    reply = stubs.merchants.RegisterMerchant(
        merchant_pb2.RegisterMerchantRequest(
            name=name, owner_email=unique_email(), owner_password=PASSWORD, default_currency_code="JPY"
        )
    )
    assert reply.merchant.id.startswith("mer_") and reply.merchant.active
    assert reply.merchant.default_currency_code == "JPY"
    assert reply.owner.merchant_id == reply.merchant.id
    # Names are unique whatever their case.
    err = expect_error(
        stubs.merchants.RegisterMerchant,
        merchant_pb2.RegisterMerchantRequest(
            name=f"  {name.upper()} ", owner_email=unique_email(), owner_password=PASSWORD
        ),
    )
    assert err.code == grpc.StatusCode.ALREADY_EXISTS and err.reason == "MERCHANT_NAME_TAKEN"
    err = expect_error(
        stubs.merchants.RegisterMerchant,
        merchant_pb2.RegisterMerchantRequest(
            name=unique("Other"), owner_email=reply.owner.email, owner_password=PASSWORD
        ),
    )
    assert err.code == grpc.StatusCode.ALREADY_EXISTS and err.reason == "EMAIL_TAKEN"


def test_register_merchant_validates_every_field(stubs: Stubs) -> None:
    err = expect_error(
        stubs.merchants.RegisterMerchant,
        merchant_pb2.RegisterMerchantRequest(
            name="", owner_email="nope", owner_password="x" * 80, support_email="bad", default_currency_code="XXX"
        ),
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(err.field_violations) == {
        "name",
        "owner_email",
        "owner_password",
        "support_email",
        "default_currency_code",
    }


def test_get_and_partial_update_of_own_merchant(stubs: Stubs) -> None:
    account = register_merchant(stubs)
    owner = stubs.as_(account.access_token)
    updated = owner.merchants.UpdateMerchant(
        merchant_pb2.UpdateMerchantRequest(support_email="help@shop.test", default_currency_code="KWD")
    ).merchant
    assert updated.support_email == "help@shop.test" and updated.default_currency_code == "KWD"
    fetched = owner.merchants.GetMerchant(merchant_pb2.GetMerchantRequest()).merchant
    assert fetched.name == updated.name  # unset fields stay as they were
    assert fetched.update_time.ToDatetime() >= fetched.create_time.ToDatetime()
    err = expect_error(owner.merchants.UpdateMerchant, merchant_pb2.UpdateMerchantRequest(default_currency_code="ZZZ"))
    assert "default_currency_code" in err.field_violations


def test_admin_lists_and_deactivates_merchants(stubs: Stubs, admin_token: str) -> None:
    account = register_merchant(stubs)
    admin = stubs.as_(admin_token)
    seen: list[str] = []
    token = ""
    while True:
        page = admin.merchants.ListMerchants(merchant_pb2.ListMerchantsRequest(page_size=2, page_token=token))
        assert len(page.merchants) <= 2
        seen.extend(m.id for m in page.merchants)
        token = page.next_page_token
        if not token:
            break
    assert account.merchant_id in seen and len(seen) == len(set(seen))
    admin.merchants.DeactivateMerchant(merchant_pb2.DeactivateMerchantRequest(merchant_id=account.merchant_id))
    for credential in (account.access_token, account.api_key):
        err = expect_error(stubs.as_(credential).merchants.GetMerchant, merchant_pb2.GetMerchantRequest())
        assert err.code == grpc.StatusCode.PERMISSION_DENIED and err.reason == "MERCHANT_INACTIVE"
    assert (
        expect_error(stubs.auth.Login, auth_pb2.LoginRequest(email=account.email, password=PASSWORD)).code
        == grpc.StatusCode.UNAUTHENTICATED
    )
    admin.merchants.ActivateMerchant(merchant_pb2.ActivateMerchantRequest(merchant_id=account.merchant_id))
    assert stubs.as_(account.api_key).merchants.GetMerchant(merchant_pb2.GetMerchantRequest()).merchant.active
    err = expect_error(
        admin.merchants.ActivateMerchant, merchant_pb2.ActivateMerchantRequest(merchant_id="mer_doesnotexist")
    )
    assert err.code == grpc.StatusCode.NOT_FOUND


def test_api_key_is_shown_once_works_and_revokes(stubs: Stubs) -> None:
    account = register_merchant(stubs)
    owner = stubs.as_(account.access_token)
    created = owner.merchants.CreateApiKey(merchant_pb2.CreateApiKeyRequest(name="ci"))
    assert created.secret.startswith("sk_test_")
    assert created.api_key.prefix == created.secret[: len(created.api_key.prefix)]
    assert created.secret not in str(created.api_key)
    listed = owner.merchants.ListApiKeys(merchant_pb2.ListApiKeysRequest())
    assert created.api_key.id in [k.id for k in listed.api_keys]
    assert all(created.secret not in str(k) for k in listed.api_keys)
    key_stubs = stubs.as_(created.secret)
    me = key_stubs.auth.GetCurrentUser(auth_pb2.GetCurrentUserRequest())
    assert me.api_key_id == created.api_key.id
    used = owner.merchants.ListApiKeys(merchant_pb2.ListApiKeysRequest()).api_keys
    assert next(k for k in used if k.id == created.api_key.id).HasField("last_use_time")
    err = expect_error(owner.merchants.CreateApiKey, merchant_pb2.CreateApiKeyRequest(name="ci"))
    assert err.code == grpc.StatusCode.ALREADY_EXISTS
    revoked = owner.merchants.RevokeApiKey(merchant_pb2.RevokeApiKeyRequest(api_key_id=created.api_key.id))
    assert revoked.api_key.HasField("revoke_time")
    err = expect_error(key_stubs.auth.GetCurrentUser, auth_pb2.GetCurrentUserRequest())
    assert err.code == grpc.StatusCode.UNAUTHENTICATED and err.reason == "API_KEY_REVOKED"
    # Revoking twice is a no-op; the other key still works.
    owner.merchants.RevokeApiKey(merchant_pb2.RevokeApiKeyRequest(api_key_id=created.api_key.id))
    stubs.as_(account.api_key).auth.GetCurrentUser(auth_pb2.GetCurrentUserRequest())


def test_forged_api_keys_are_refused(stubs: Stubs) -> None:
    account = register_merchant(stubs)
    tampered = account.api_key[:-1] + ("A" if account.api_key[-1] != "A" else "B")
    for key in (tampered, "sk_test_short", "sk_test_" + "x" * 44):
        err = expect_error(stubs.as_(key).auth.GetCurrentUser, auth_pb2.GetCurrentUserRequest())
        assert err.code == grpc.StatusCode.UNAUTHENTICATED and err.reason == "INVALID_API_KEY"


def test_api_keys_cannot_manage_keys(stubs: Stubs) -> None:
    account = register_merchant(stubs)
    err = expect_error(stubs.as_(account.api_key).merchants.CreateApiKey, merchant_pb2.CreateApiKeyRequest(name="x"))
    assert err.code == grpc.StatusCode.PERMISSION_DENIED


def test_api_key_pages_are_newest_first_and_complete(stubs: Stubs) -> None:
    account = register_merchant(stubs)
    owner = stubs.as_(account.access_token)
    names = [f"k{i}" for i in range(7)]
    for name in names:
        owner.merchants.CreateApiKey(merchant_pb2.CreateApiKeyRequest(name=name))
    got: list[str] = []
    token = ""
    while True:
        page = owner.merchants.ListApiKeys(merchant_pb2.ListApiKeysRequest(page_size=3, page_token=token))
        got.extend(k.name for k in page.api_keys)
        token = page.next_page_token
        if not token:
            break
    assert got[:7] == list(reversed(names))
    assert len(got) == 8  # plus the key the factory made


def test_first_admin_from_bootstrap_settings(make_server: Callable[..., ServerHandle]) -> None:
    email = unique_email("root")
    server = make_server(bootstrap_admin_email=email, bootstrap_admin_password=PASSWORD)
    session = login(server.stubs(), email)
    assert session.user.role == common_pb2.ROLE_ADMIN
    admin = server.stubs(session.tokens.access_token)
    admin.merchants.ListMerchants(merchant_pb2.ListMerchantsRequest())
