"""A request body that is not a valid message is the caller's error: INVALID_ARGUMENT with a field
violation and the request id, never gRPC's UNKNOWN naming a Python exception."""

from __future__ import annotations

import grpc
import pytest

from tests.support.client import rich_error
from tests.support.harness import ServerHandle


@pytest.mark.parametrize(
    "method",
    [
        "/paysim.v1.PaymentService/CreatePayment",
        "/paysim.v1.AuthService/Login",
        "/paysim.v1.MerchantService/GetMerchant",
    ],
)
def test_an_undecodable_request_is_invalid_argument(server: ServerHandle, method: str) -> None:
    call = server.channel().unary_unary(method, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as raised:
        call(b"\xff\xff\xff\xff not protobuf", timeout=10)
    err = rich_error(raised.value)
    assert err.code is grpc.StatusCode.INVALID_ARGUMENT, err
    assert err.field_violations == {"request": "is not a valid message of this method's request type"}
    assert err.reason == "INVALID_ARGUMENT" and err.request_id
