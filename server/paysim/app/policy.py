"""The one table of who may call what. Deny by default: an RPC missing here is refused, and a
test walks every service descriptor to make sure none is missing."""

from __future__ import annotations

from dataclasses import dataclass

from paysim.domain.roles import Permission, Role


@dataclass(frozen=True, slots=True)
class Policy:
    """``permission`` None with ``public`` False means: any authenticated caller."""

    public: bool = False
    permission: Permission | None = None
    admin_only: bool = False
    rate_limited: bool = True
    reads_credentials: bool = True


PUBLIC = Policy(public=True)
# Probes and tooling: never throttled, or a busy client could get its own health checks refused,
# and blind to credentials, so a tool that sends its bearer header on every call (grpcurl does,
# on reflection too) is never refused there for an expired token.
INFRASTRUCTURE = Policy(public=True, rate_limited=False, reads_credentials=False)
AUTHENTICATED = Policy()


def needs(permission: Permission) -> Policy:
    return Policy(permission=permission)


ADMIN_ONLY = Policy(admin_only=True, permission=Permission.MERCHANT_ADMIN)

_AUTH = "/paysim.v1.AuthService/"
_MERCHANT = "/paysim.v1.MerchantService/"
_CUSTOMER = "/paysim.v1.CustomerService/"
_PAYMENT = "/paysim.v1.PaymentService/"
_SIMULATOR = "/paysim.v1.SimulatorService/"
_THREE_DS = "/paysim.v1.ThreeDSService/"
_WEBHOOK = "/paysim.v1.WebhookService/"
_EVENTS = "/paysim.v1.EventService/"

POLICIES: dict[str, Policy] = {
    _AUTH + "Register": PUBLIC,
    _AUTH + "Login": PUBLIC,
    _AUTH + "RefreshToken": PUBLIC,
    _AUTH + "Logout": PUBLIC,
    _AUTH + "GetCurrentUser": needs(Permission.PROFILE_READ),
    _AUTH + "ChangePassword": needs(Permission.PASSWORD_CHANGE),
    _MERCHANT + "RegisterMerchant": PUBLIC,
    _MERCHANT + "GetMerchant": needs(Permission.MERCHANT_READ),
    _MERCHANT + "UpdateMerchant": needs(Permission.MERCHANT_WRITE),
    _MERCHANT + "ListMerchants": ADMIN_ONLY,
    _MERCHANT + "ActivateMerchant": ADMIN_ONLY,
    _MERCHANT + "DeactivateMerchant": ADMIN_ONLY,
    _MERCHANT + "CreateApiKey": needs(Permission.API_KEY_MANAGE),
    _MERCHANT + "ListApiKeys": needs(Permission.API_KEY_MANAGE),
    _MERCHANT + "RevokeApiKey": needs(Permission.API_KEY_MANAGE),
    # Gateway configurations are merchant settings, guarded like the rest of them.
    _MERCHANT + "SetGatewayConfig": needs(Permission.MERCHANT_WRITE),
    _MERCHANT + "ListGatewayConfigs": needs(Permission.MERCHANT_READ),
    _MERCHANT + "DeleteGatewayConfig": needs(Permission.MERCHANT_WRITE),
    _CUSTOMER + "CreateCustomer": needs(Permission.CUSTOMER_WRITE),
    _CUSTOMER + "GetCustomer": needs(Permission.CUSTOMER_READ),
    _CUSTOMER + "ListCustomers": needs(Permission.CUSTOMER_READ),
    _CUSTOMER + "UpdateCustomer": needs(Permission.CUSTOMER_WRITE),
    _CUSTOMER + "DeleteCustomer": needs(Permission.CUSTOMER_WRITE),
    _PAYMENT + "CreatePayment": needs(Permission.PAYMENT_WRITE),
    _PAYMENT + "GetPayment": needs(Permission.PAYMENT_READ),
    _PAYMENT + "ListPayments": needs(Permission.PAYMENT_READ),
    _PAYMENT + "CapturePayment": needs(Permission.PAYMENT_WRITE),
    _PAYMENT + "VoidPayment": needs(Permission.PAYMENT_WRITE),
    _PAYMENT + "RefundPayment": needs(Permission.PAYMENT_WRITE),
    _PAYMENT + "ListRefunds": needs(Permission.PAYMENT_READ),
    _PAYMENT + "ListPaymentEvents": needs(Permission.PAYMENT_READ),
    _SIMULATOR + "ListScenarios": AUTHENTICATED,
    _SIMULATOR + "SetGatewayOutage": needs(Permission.SIMULATOR_CONTROL),
    _SIMULATOR + "ScriptGatewayOutcomes": needs(Permission.SIMULATOR_CONTROL),
    _SIMULATOR + "ClearGatewayFaults": needs(Permission.SIMULATOR_CONTROL),
    _SIMULATOR + "ListGatewayFaults": needs(Permission.SIMULATOR_CONTROL),
    _SIMULATOR + "ListCircuitBreakers": needs(Permission.SIMULATOR_CONTROL),
    _SIMULATOR + "ResetCircuitBreaker": ADMIN_ONLY,
    # A payment's challenge is seen by whoever may see the payment (its merchant, its customer,
    # admins). SimulateAcs plays the cardholder, so the payment's customer may call it as well as
    # its merchant's test code; it changes nothing until the merchant completes the challenge.
    _THREE_DS + "GetChallenge": needs(Permission.PAYMENT_READ),
    _THREE_DS + "SimulateAcs": needs(Permission.PAYMENT_READ),
    _THREE_DS + "CompleteChallenge": needs(Permission.PAYMENT_WRITE),
    _THREE_DS + "SetThreeDSPolicy": needs(Permission.MERCHANT_WRITE),
    _THREE_DS + "GetThreeDSPolicy": needs(Permission.MERCHANT_READ),
    # Webhook endpoints are merchant settings: merchants their own, admins any merchant's.
    _WEBHOOK + "CreateWebhookEndpoint": needs(Permission.MERCHANT_WRITE),
    _WEBHOOK + "GetWebhookEndpoint": needs(Permission.MERCHANT_READ),
    _WEBHOOK + "ListWebhookEndpoints": needs(Permission.MERCHANT_READ),
    _WEBHOOK + "UpdateWebhookEndpoint": needs(Permission.MERCHANT_WRITE),
    _WEBHOOK + "DeleteWebhookEndpoint": needs(Permission.MERCHANT_WRITE),
    _WEBHOOK + "RotateWebhookSecret": needs(Permission.MERCHANT_WRITE),
    _WEBHOOK + "ListWebhookDeliveries": needs(Permission.MERCHANT_READ),
    _WEBHOOK + "RedeliverWebhook": needs(Permission.MERCHANT_WRITE),
    # Which events: the service narrows the stream to the caller's own merchant or payments.
    _EVENTS + "SubscribePaymentEvents": needs(Permission.PAYMENT_READ),
    # Infrastructure: probes and tooling must work without credentials.
    "/grpc.health.v1.Health/Check": INFRASTRUCTURE,
    "/grpc.health.v1.Health/Watch": INFRASTRUCTURE,
    "/grpc.health.v1.Health/List": INFRASTRUCTURE,
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": INFRASTRUCTURE,
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": INFRASTRUCTURE,
}


def policy_for(method: str) -> Policy | None:
    return POLICIES.get(method)


def role_may_call(role: Role, policy: Policy) -> bool:
    """The role-level half of the check (API-key restrictions live on Principal.can)."""
    from paysim.domain.roles import has_permission

    if policy.public:
        return True
    if policy.admin_only:
        return role is Role.ADMIN
    return policy.permission is None or has_permission(role, policy.permission)
