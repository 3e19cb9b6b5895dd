"""The services are served as generic handlers only (app/service_registration.py): every method of
the contract is found by its name, and a name the contract does not have is UNIMPLEMENTED, for a
known service and an unknown one alike, with and without credentials."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2

from paysim.app.server import PAYSIM_SERVICE_DESCRIPTORS
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle


@pytest.mark.parametrize(
    "method", ["/paysim.v1.PaymentService/NoSuchMethod", "/paysim.v1.NoSuchService/Get", "/grpc.health.v1.Health/Nope"]
)
def test_an_unknown_method_is_unimplemented(server: ServerHandle, method: str) -> None:
    key = register_merchant(server.stubs()).api_key
    with grpc.insecure_channel(server.target) as channel:
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        for metadata in ((), (("authorization", f"Bearer {key}"),)):
            with pytest.raises(grpc.RpcError) as refused:
                call(b"", metadata=metadata, timeout=10)
            assert refused.value.code() is grpc.StatusCode.UNIMPLEMENTED  # type: ignore[attr-defined]


def test_every_method_of_the_contract_is_found(server: ServerHandle) -> None:
    """Called with an empty request and no credentials, every method answers something other
    than UNIMPLEMENTED (most of them UNAUTHENTICATED)."""
    with grpc.insecure_channel(server.target) as channel:
        for service in PAYSIM_SERVICE_DESCRIPTORS:
            for method in service.methods:
                name = f"/{service.full_name}/{method.name}"
                if method.server_streaming or method.client_streaming:
                    continue  # the streaming ones are reached by their own tests
                call = channel.unary_unary(name, request_serializer=None, response_deserializer=None)
                try:
                    call(b"", timeout=10)
                except grpc.RpcError as error:
                    assert error.code() is not grpc.StatusCode.UNIMPLEMENTED, name  # type: ignore[attr-defined]
        health = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        assert health(health_pb2.HealthCheckRequest(), timeout=10).status == health_pb2.HealthCheckResponse.SERVING
