"""The table of RPCs the client calls, with what the transport must know about each one.

Each entry is checked against the generated service descriptors when this module is imported,
so a renamed RPC or a changed message type fails at once instead of at the first call.
``Safety`` decides whether an ``UNAVAILABLE`` may be retried and whether an idempotency key is
sent: a call the server may have carried out before the connection broke is repeated only if
repeating it cannot do anything twice.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message

from paysim_client.v1 import (
    auth_pb2,
    customer_pb2,
    events_pb2,
    merchant_pb2,
    payment_pb2,
    simulator_pb2,
    threeds_pb2,
    webhook_pb2,
)

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)


class Safety(enum.Enum):
    READ = "read"  # changes nothing
    IDEMPOTENT = "idempotent"  # a repeat leaves the same state (set, delete, update, revoke)
    KEYED = "keyed"  # the server deduplicates it by the idempotency key the client always sends
    UNSAFE = "unsafe"  # a repeat may act twice (create, rotate): never retried after UNAVAILABLE

    @property
    def retry_unavailable(self) -> bool:
        return self is not Safety.UNSAFE


@dataclass(frozen=True, slots=True)
class Rpc(Generic[Req, Resp]):
    path: str
    request: type[Req]
    response: type[Resp]
    safety: Safety
    # Sent without credentials: the server checks a bearer sent to a public RPC, so an expired
    # access token would get a login or a token refresh refused.
    anonymous: bool = False
    # A server stream (watch()): opened by ``Transport.stream`` and resumed from its cursor by its
    # reader, never replayed by ``Transport.call``.
    streaming: bool = False


def _rpc(
    module: ModuleType,
    service: str,
    name: str,
    request: type[Req],
    response: type[Resp],
    safety: Safety,
    *,
    anonymous: bool = False,
    streaming: bool = False,
) -> Rpc[Req, Resp]:
    method: Any = module.DESCRIPTOR.services_by_name[service].methods_by_name[name]
    if method.input_type is not request.DESCRIPTOR or method.output_type is not response.DESCRIPTOR:
        raise TypeError(f"{service}.{name} does not take {request.__name__} and return {response.__name__}")
    if method.client_streaming or method.server_streaming != streaming:
        raise TypeError(f"{service}.{name} is {'not ' if streaming else ''}a server stream")
    return Rpc(f"/{method.containing_service.full_name}/{name}", request, response, safety, anonymous, streaming)


R, ID, K, U = Safety.READ, Safety.IDEMPOTENT, Safety.KEYED, Safety.UNSAFE
A, M, C, P, S, T = auth_pb2, merchant_pb2, customer_pb2, payment_pb2, simulator_pb2, threeds_pb2

# AuthService
REGISTER = _rpc(A, "AuthService", "Register", A.RegisterRequest, A.RegisterResponse, U, anonymous=True)
# A repeated login only opens another session.
LOGIN = _rpc(A, "AuthService", "Login", A.LoginRequest, A.LoginResponse, ID, anonymous=True)
# Each use rotates the refresh token; a repeat of a used one revokes the whole session.
REFRESH_TOKEN = _rpc(A, "AuthService", "RefreshToken", A.RefreshTokenRequest, A.RefreshTokenResponse, U, anonymous=True)
LOGOUT = _rpc(A, "AuthService", "Logout", A.LogoutRequest, A.LogoutResponse, ID, anonymous=True)
GET_CURRENT_USER = _rpc(A, "AuthService", "GetCurrentUser", A.GetCurrentUserRequest, A.GetCurrentUserResponse, R)
CHANGE_PASSWORD = _rpc(A, "AuthService", "ChangePassword", A.ChangePasswordRequest, A.ChangePasswordResponse, U)

# MerchantService
REGISTER_MERCHANT = _rpc(
    M, "MerchantService", "RegisterMerchant", M.RegisterMerchantRequest, M.RegisterMerchantResponse, U, anonymous=True
)
GET_MERCHANT = _rpc(M, "MerchantService", "GetMerchant", M.GetMerchantRequest, M.GetMerchantResponse, R)
UPDATE_MERCHANT = _rpc(M, "MerchantService", "UpdateMerchant", M.UpdateMerchantRequest, M.UpdateMerchantResponse, ID)
LIST_MERCHANTS = _rpc(M, "MerchantService", "ListMerchants", M.ListMerchantsRequest, M.ListMerchantsResponse, R)
ACTIVATE_MERCHANT = _rpc(
    M, "MerchantService", "ActivateMerchant", M.ActivateMerchantRequest, M.ActivateMerchantResponse, ID
)
DEACTIVATE_MERCHANT = _rpc(
    M, "MerchantService", "DeactivateMerchant", M.DeactivateMerchantRequest, M.DeactivateMerchantResponse, ID
)
CREATE_API_KEY = _rpc(M, "MerchantService", "CreateApiKey", M.CreateApiKeyRequest, M.CreateApiKeyResponse, U)
LIST_API_KEYS = _rpc(M, "MerchantService", "ListApiKeys", M.ListApiKeysRequest, M.ListApiKeysResponse, R)
REVOKE_API_KEY = _rpc(M, "MerchantService", "RevokeApiKey", M.RevokeApiKeyRequest, M.RevokeApiKeyResponse, ID)
SET_GATEWAY_CONFIG = _rpc(
    M, "MerchantService", "SetGatewayConfig", M.SetGatewayConfigRequest, M.SetGatewayConfigResponse, ID
)
LIST_GATEWAY_CONFIGS = _rpc(
    M, "MerchantService", "ListGatewayConfigs", M.ListGatewayConfigsRequest, M.ListGatewayConfigsResponse, R
)
DELETE_GATEWAY_CONFIG = _rpc(
    M, "MerchantService", "DeleteGatewayConfig", M.DeleteGatewayConfigRequest, M.DeleteGatewayConfigResponse, ID
)

# CustomerService
CREATE_CUSTOMER = _rpc(C, "CustomerService", "CreateCustomer", C.CreateCustomerRequest, C.CreateCustomerResponse, U)
GET_CUSTOMER = _rpc(C, "CustomerService", "GetCustomer", C.GetCustomerRequest, C.GetCustomerResponse, R)
LIST_CUSTOMERS = _rpc(C, "CustomerService", "ListCustomers", C.ListCustomersRequest, C.ListCustomersResponse, R)
UPDATE_CUSTOMER = _rpc(C, "CustomerService", "UpdateCustomer", C.UpdateCustomerRequest, C.UpdateCustomerResponse, ID)
DELETE_CUSTOMER = _rpc(C, "CustomerService", "DeleteCustomer", C.DeleteCustomerRequest, C.DeleteCustomerResponse, ID)

# PaymentService: every mutation is deduplicated by its idempotency key.
CREATE_PAYMENT = _rpc(P, "PaymentService", "CreatePayment", P.CreatePaymentRequest, P.CreatePaymentResponse, K)
GET_PAYMENT = _rpc(P, "PaymentService", "GetPayment", P.GetPaymentRequest, P.GetPaymentResponse, R)
LIST_PAYMENTS = _rpc(P, "PaymentService", "ListPayments", P.ListPaymentsRequest, P.ListPaymentsResponse, R)
CAPTURE_PAYMENT = _rpc(P, "PaymentService", "CapturePayment", P.CapturePaymentRequest, P.CapturePaymentResponse, K)
VOID_PAYMENT = _rpc(P, "PaymentService", "VoidPayment", P.VoidPaymentRequest, P.VoidPaymentResponse, K)
REFUND_PAYMENT = _rpc(P, "PaymentService", "RefundPayment", P.RefundPaymentRequest, P.RefundPaymentResponse, K)
LIST_REFUNDS = _rpc(P, "PaymentService", "ListRefunds", P.ListRefundsRequest, P.ListRefundsResponse, R)
LIST_PAYMENT_EVENTS = _rpc(
    P, "PaymentService", "ListPaymentEvents", P.ListPaymentEventsRequest, P.ListPaymentEventsResponse, R
)

# SimulatorService
LIST_SCENARIOS = _rpc(S, "SimulatorService", "ListScenarios", S.ListScenariosRequest, S.ListScenariosResponse, R)
SET_GATEWAY_OUTAGE = _rpc(
    S, "SimulatorService", "SetGatewayOutage", S.SetGatewayOutageRequest, S.SetGatewayOutageResponse, ID
)
# A repeat could append the steps twice, or replace a script a payment already started using.
SCRIPT_GATEWAY_OUTCOMES = _rpc(
    S, "SimulatorService", "ScriptGatewayOutcomes", S.ScriptGatewayOutcomesRequest, S.ScriptGatewayOutcomesResponse, U
)
CLEAR_GATEWAY_FAULTS = _rpc(
    S, "SimulatorService", "ClearGatewayFaults", S.ClearGatewayFaultsRequest, S.ClearGatewayFaultsResponse, ID
)
LIST_GATEWAY_FAULTS = _rpc(
    S, "SimulatorService", "ListGatewayFaults", S.ListGatewayFaultsRequest, S.ListGatewayFaultsResponse, R
)
LIST_CIRCUIT_BREAKERS = _rpc(
    S, "SimulatorService", "ListCircuitBreakers", S.ListCircuitBreakersRequest, S.ListCircuitBreakersResponse, R
)
RESET_CIRCUIT_BREAKER = _rpc(
    S, "SimulatorService", "ResetCircuitBreaker", S.ResetCircuitBreakerRequest, S.ResetCircuitBreakerResponse, ID
)

# ThreeDSService
GET_CHALLENGE = _rpc(T, "ThreeDSService", "GetChallenge", T.GetChallengeRequest, T.GetChallengeResponse, R)
# Signs an answer and changes nothing by itself.
SIMULATE_ACS = _rpc(T, "ThreeDSService", "SimulateAcs", T.SimulateAcsRequest, T.SimulateAcsResponse, ID)
COMPLETE_CHALLENGE = _rpc(
    T, "ThreeDSService", "CompleteChallenge", T.CompleteChallengeRequest, T.CompleteChallengeResponse, K
)
SET_THREE_DS_POLICY = _rpc(
    T, "ThreeDSService", "SetThreeDSPolicy", T.SetThreeDSPolicyRequest, T.SetThreeDSPolicyResponse, ID
)
GET_THREE_DS_POLICY = _rpc(
    T, "ThreeDSService", "GetThreeDSPolicy", T.GetThreeDSPolicyRequest, T.GetThreeDSPolicyResponse, R
)

# EventService: watch() reopens the stream from its cursor after a transient end.
EV = events_pb2
SUBSCRIBE_PAYMENT_EVENTS = _rpc(
    EV,
    "EventService",
    "SubscribePaymentEvents",
    EV.SubscribePaymentEventsRequest,
    EV.SubscribePaymentEventsResponse,
    R,
    streaming=True,
)

# WebhookService
W = webhook_pb2
# A repeat would create a second endpoint with a secret nobody saw.
CREATE_WEBHOOK_ENDPOINT = _rpc(
    W, "WebhookService", "CreateWebhookEndpoint", W.CreateWebhookEndpointRequest, W.CreateWebhookEndpointResponse, U
)
GET_WEBHOOK_ENDPOINT = _rpc(
    W, "WebhookService", "GetWebhookEndpoint", W.GetWebhookEndpointRequest, W.GetWebhookEndpointResponse, R
)
LIST_WEBHOOK_ENDPOINTS = _rpc(
    W, "WebhookService", "ListWebhookEndpoints", W.ListWebhookEndpointsRequest, W.ListWebhookEndpointsResponse, R
)
UPDATE_WEBHOOK_ENDPOINT = _rpc(
    W, "WebhookService", "UpdateWebhookEndpoint", W.UpdateWebhookEndpointRequest, W.UpdateWebhookEndpointResponse, ID
)
DELETE_WEBHOOK_ENDPOINT = _rpc(
    W, "WebhookService", "DeleteWebhookEndpoint", W.DeleteWebhookEndpointRequest, W.DeleteWebhookEndpointResponse, ID
)
# A repeat would rotate again: the secret the lost answer carried would become the old one, and
# the secret the receiver still uses would stop signing at once.
ROTATE_WEBHOOK_SECRET = _rpc(
    W, "WebhookService", "RotateWebhookSecret", W.RotateWebhookSecretRequest, W.RotateWebhookSecretResponse, U
)
LIST_WEBHOOK_DELIVERIES = _rpc(
    W, "WebhookService", "ListWebhookDeliveries", W.ListWebhookDeliveriesRequest, W.ListWebhookDeliveriesResponse, R
)
# A repeat sends the event once more, as another delivery.
REDELIVER_WEBHOOK = _rpc(
    W, "WebhookService", "RedeliverWebhook", W.RedeliverWebhookRequest, W.RedeliverWebhookResponse, U
)

ALL: tuple[Rpc[Any, Any], ...] = tuple(value for value in dict(globals()).values() if isinstance(value, Rpc))
