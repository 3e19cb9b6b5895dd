from paysim_proto.v1 import auth_pb2, merchant_pb2

from tests.support.client import Stubs, expect_error
from tests.support.factories import register_merchant


def test_register_merchant_and_call_with_token_and_key(stubs: Stubs) -> None:
    account = register_merchant(stubs)
    me = stubs.as_(account.access_token).auth.GetCurrentUser(auth_pb2.GetCurrentUserRequest())
    assert me.user.id == account.owner_id
    assert me.merchant_id == account.merchant_id
    by_key = stubs.as_(account.api_key).merchants.GetMerchant(merchant_pb2.GetMerchantRequest())
    assert by_key.merchant.id == account.merchant_id


def test_missing_credentials_is_unauthenticated(stubs: Stubs) -> None:
    err = expect_error(stubs.auth.GetCurrentUser, auth_pb2.GetCurrentUserRequest())
    assert err.code.name == "UNAUTHENTICATED"
    assert err.reason == "CREDENTIALS_MISSING"
    assert err.domain == "paysim.v1"
    assert err.request_id
