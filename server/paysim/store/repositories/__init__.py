"""Repositories: SQL behind methods named for what the service layer needs."""

from paysim.store.repositories.api_keys import ApiKeyRepository
from paysim.store.repositories.auth_tokens import LoginThrottleRepository, RefreshTokenRepository
from paysim.store.repositories.circuit_breakers import CircuitBreakerRepository
from paysim.store.repositories.customers import CustomerRepository
from paysim.store.repositories.gateway_configs import GatewayConfigRepository
from paysim.store.repositories.gateway_faults import GatewayFaultRepository
from paysim.store.repositories.idempotency import IdempotencyRepository
from paysim.store.repositories.merchants import MerchantRepository, UserRepository
from paysim.store.repositories.payments import PaymentRepository
from paysim.store.repositories.three_ds_policies import ThreeDSPolicyRepository
from paysim.store.repositories.webhooks import WebhookDeliveryRepository, WebhookEndpointRepository

__all__ = [
    "ApiKeyRepository",
    "CircuitBreakerRepository",
    "CustomerRepository",
    "GatewayConfigRepository",
    "GatewayFaultRepository",
    "IdempotencyRepository",
    "LoginThrottleRepository",
    "MerchantRepository",
    "PaymentRepository",
    "RefreshTokenRepository",
    "ThreeDSPolicyRepository",
    "UserRepository",
    "WebhookDeliveryRepository",
    "WebhookEndpointRepository",
]
