"""The contract's message and enum types the client returns and takes, in one import.

The client returns the generated protobuf messages themselves (typed by their ``.pyi`` stubs):
every field the server adds is there without a client release, and the field comments of
``proto/paysim/v1`` document them. Enum values are attributes of their enum, e.g.
``PaymentStatus.PAYMENT_STATUS_DECLINED``; ``PaymentStatus.Name(payment.status)`` gives the name.
"""

from paysim_proto.v1.auth_pb2 import CredentialKind, GetCurrentUserResponse, LoginResponse, TokenPair, User
from paysim_proto.v1.common_pb2 import Role
from paysim_proto.v1.customer_pb2 import Customer
from paysim_proto.v1.events_pb2 import StreamStart
from paysim_proto.v1.merchant_pb2 import (
    ApiKey,
    CreateApiKeyResponse,
    GatewayConfig,
    Merchant,
    RegisterMerchantResponse,
)
from paysim_proto.v1.payment_pb2 import (
    CaptureMethod,
    CardDetails,
    CardInput,
    Decline,
    GatewayAttempt,
    GatewayOperation,
    GatewayOutcome,
    NextAction,
    NextActionType,
    Payment,
    PaymentEvent,
    PaymentMethodType,
    PaymentStatus,
    PayPalWalletInput,
    Refund,
    RefundPaymentResponse,
    RefundStatus,
    ThreeDSAuthentication,
    ThreeDSChallenge,
    ThreeDSChallengeStatus,
    UpiInput,
)
from paysim_proto.v1.simulator_pb2 import (
    BreakerSettings,
    BreakerState,
    CircuitBreaker,
    GatewayFaults,
    ListCircuitBreakersResponse,
    OutageMode,
    Scenario,
    ScenarioTrigger,
    ScriptedOutcome,
    ScriptedOutcomeKind,
)
from paysim_proto.v1.threeds_pb2 import (
    AcsAction,
    GetChallengeResponse,
    SimulateAcsResponse,
    ThreeDSPolicy,
    ThreeDSPolicyMode,
    ThreeDSThreshold,
)
from paysim_proto.v1.webhook_pb2 import (
    CreateWebhookEndpointResponse,
    RotateWebhookSecretResponse,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryState,
    WebhookEndpoint,
)

__all__ = [
    "AcsAction",
    "ApiKey",
    "BreakerSettings",
    "BreakerState",
    "CaptureMethod",
    "CardDetails",
    "CardInput",
    "CircuitBreaker",
    "CreateApiKeyResponse",
    "CreateWebhookEndpointResponse",
    "CredentialKind",
    "Customer",
    "Decline",
    "GatewayAttempt",
    "GatewayConfig",
    "GatewayFaults",
    "GatewayOperation",
    "GatewayOutcome",
    "GetChallengeResponse",
    "GetCurrentUserResponse",
    "ListCircuitBreakersResponse",
    "LoginResponse",
    "Merchant",
    "NextAction",
    "NextActionType",
    "OutageMode",
    "PayPalWalletInput",
    "Payment",
    "PaymentEvent",
    "PaymentMethodType",
    "PaymentStatus",
    "Refund",
    "RefundPaymentResponse",
    "RefundStatus",
    "RegisterMerchantResponse",
    "Role",
    "RotateWebhookSecretResponse",
    "Scenario",
    "ScenarioTrigger",
    "ScriptedOutcome",
    "ScriptedOutcomeKind",
    "SimulateAcsResponse",
    "StreamStart",
    "ThreeDSAuthentication",
    "ThreeDSChallenge",
    "ThreeDSChallengeStatus",
    "ThreeDSPolicy",
    "ThreeDSPolicyMode",
    "ThreeDSThreshold",
    "TokenPair",
    "UpiInput",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookDeliveryState",
    "WebhookEndpoint",
]
