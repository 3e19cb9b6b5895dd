"""Identity and merchant records → protobuf messages."""

from __future__ import annotations

from paysim_proto.v1 import auth_pb2, common_pb2, customer_pb2, merchant_pb2

from paysim.contract.timestamps import timestamp
from paysim.domain.card_issuers import UnknownCards
from paysim.domain.models import ApiKey, Customer, GatewayConfig, Merchant, User
from paysim.domain.principal import CredentialKind
from paysim.domain.roles import Role

ROLE_TO_PROTO = {
    Role.ADMIN: common_pb2.ROLE_ADMIN,
    Role.MERCHANT: common_pb2.ROLE_MERCHANT,
    Role.CUSTOMER: common_pb2.ROLE_CUSTOMER,
}
CREDENTIAL_TO_PROTO = {
    CredentialKind.ACCESS_TOKEN: auth_pb2.CREDENTIAL_KIND_ACCESS_TOKEN,
    CredentialKind.API_KEY: auth_pb2.CREDENTIAL_KIND_API_KEY,
}


def user(u: User) -> auth_pb2.User:
    return auth_pb2.User(
        id=u.id,
        email=u.email,
        full_name=u.full_name,
        role=ROLE_TO_PROTO[u.role],
        active=u.active,
        merchant_id=u.merchant_id or "",
        create_time=timestamp(u.created_at),
        update_time=timestamp(u.updated_at),
    )


_UNKNOWN_CARDS = {
    UnknownCards.APPROVE: merchant_pb2.UNKNOWN_CARDS_APPROVE,
    UnknownCards.REFUSE: merchant_pb2.UNKNOWN_CARDS_REFUSE,
}
UNKNOWN_CARDS_FROM_PROTO = {v: k for k, v in _UNKNOWN_CARDS.items()}


def merchant(m: Merchant) -> merchant_pb2.Merchant:
    return merchant_pb2.Merchant(
        id=m.id,
        name=m.name,
        support_email=m.support_email,
        default_currency_code=m.default_currency,
        active=m.active,
        create_time=timestamp(m.created_at),
        update_time=timestamp(m.updated_at),
        fee_percent_bps=m.fee_percent_bps,
        fee_fixed_minor=m.fee_fixed,
        unknown_cards=_UNKNOWN_CARDS[m.unknown_cards],
    )


def api_key(k: ApiKey) -> merchant_pb2.ApiKey:
    return merchant_pb2.ApiKey(
        id=k.id,
        merchant_id=k.merchant_id,
        name=k.name,
        prefix=k.prefix,
        create_time=timestamp(k.created_at),
        last_use_time=timestamp(k.last_used_at),
        revoke_time=timestamp(k.revoked_at),
    )


def gateway_config(c: GatewayConfig) -> merchant_pb2.GatewayConfig:
    return merchant_pb2.GatewayConfig(
        merchant_id=c.merchant_id,
        gateway=c.gateway,
        enabled=c.enabled,
        priority=c.priority,
        settings=dict(c.settings),
        create_time=timestamp(c.created_at),
        update_time=timestamp(c.updated_at),
    )


def customer(c: Customer) -> customer_pb2.Customer:
    return customer_pb2.Customer(
        id=c.id,
        merchant_id=c.merchant_id,
        email=c.email,
        name=c.name,
        phone=c.phone,
        metadata=c.metadata,
        user_id=c.user_id or "",
        create_time=timestamp(c.created_at),
        update_time=timestamp(c.updated_at),
        test_clock_id=c.test_clock_id,
    )
