"""Merchants, their API keys and their gateway configurations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from paysim.domain import ids
from paysim.domain.card_issuers import UnknownCards
from paysim.domain.duplicates import ApiKeyNameTaken, DuplicateEmail, MerchantNameTaken
from paysim.domain.errors import AlreadyExists, NotFound
from paysim.domain.gateway_settings import check_gateway, check_priority, check_settings
from paysim.domain.messages import GatewayConfigsChanged, MerchantChanged
from paysim.domain.models import ApiKey, GatewayConfig, Merchant, User
from paysim.domain.paging import Cursor
from paysim.domain.principal import Principal
from paysim.domain.roles import Role
from paysim.domain.validation import (
    MAX_NAME_CHARS,
    Violations,
    check_currency,
    check_email,
    check_id,
    check_password,
    check_text,
    normalize_email,
)
from paysim.gateways.registry import GATEWAY_NAMES
from paysim.security import secrets
from paysim.security.passwords import PasswordHasher
from paysim.services.accounts import email_taken
from paysim.services.clock import Clock
from paysim.services.tenancy import target_merchant, visible_merchant
from paysim.store.unit_of_work import UnitOfWorkFactory

MAX_KEY_NAME_CHARS = 100


def _merchant_name_taken() -> AlreadyExists:
    return AlreadyExists("a merchant with this name exists", reason="MERCHANT_NAME_TAKEN")


def _check_merchant_name(v: Violations, name: str) -> None:
    check_text(v, "name", name, max_chars=MAX_NAME_CHARS, required=True)


class MerchantService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock

    async def register(
        self,
        *,
        name: str,
        owner_email: str,
        owner_password: str,
        owner_full_name: str,
        support_email: str,
        default_currency: str,
    ) -> tuple[Merchant, User]:
        owner_email = normalize_email(owner_email)
        support_email = normalize_email(support_email)
        default_currency = default_currency or "USD"
        v = Violations()
        _check_merchant_name(v, name)
        check_email(v, "owner_email", owner_email)
        check_password(v, "owner_password", owner_password)
        check_text(v, "owner_full_name", owner_full_name, max_chars=MAX_NAME_CHARS)
        check_email(v, "support_email", support_email, required=False)
        check_currency(v, "default_currency_code", default_currency)
        v.raise_if_any()
        password_hash = await self._hasher.hash(owner_password)
        now = self._clock()
        merchant = Merchant(
            id=ids.new_id(ids.MERCHANT),
            name=name.strip(),
            support_email=support_email,
            default_currency=default_currency,
            active=True,
            created_at=now,
            updated_at=now,
        )
        owner = User(
            id=ids.new_id(ids.USER),
            email=owner_email,
            full_name=owner_full_name.strip(),
            role=Role.MERCHANT,
            active=True,
            merchant_id=merchant.id,
            created_at=now,
            updated_at=now,
            password_hash=password_hash,
        )
        try:
            async with self._uow() as uow:
                await uow.merchants.add(merchant)
                await uow.users.add(owner)
                await uow.commit()
        except MerchantNameTaken:
            raise _merchant_name_taken() from None
        except DuplicateEmail:
            raise email_taken() from None
        return merchant, owner

    async def get(self, principal: Principal, merchant_id: str) -> Merchant:
        v = Violations()
        check_id(v, "merchant_id", merchant_id, ids.MERCHANT, required=False)
        v.raise_if_any()
        target = target_merchant(principal, merchant_id)
        async with self._uow() as uow:
            merchant = await uow.merchants.get(target)
        if merchant is None:
            raise NotFound("merchant", target)
        return merchant

    async def update(
        self,
        principal: Principal,
        merchant_id: str,
        *,
        name: str | None,
        support_email: str | None,
        default_currency: str | None,
        fee_percent_bps: int | None = None,
        fee_fixed: int | None = None,
        unknown_cards: UnknownCards | None = None,
    ) -> Merchant:
        v = Violations()
        if fee_percent_bps is not None and not 0 <= fee_percent_bps <= 10_000:
            v.add("fee_percent_bps", "must be between 0 and 10000 basis points", "OUT_OF_RANGE")
        if fee_fixed is not None and not 0 <= fee_fixed <= 1_000_000_000:
            v.add("fee_fixed_minor", "must be between 0 and 1000000000", "OUT_OF_RANGE")
        check_id(v, "merchant_id", merchant_id, ids.MERCHANT, required=False)
        if name is not None:
            _check_merchant_name(v, name)
        if support_email is not None:
            support_email = normalize_email(support_email)
            check_email(v, "support_email", support_email, required=False)
        if default_currency is not None:
            check_currency(v, "default_currency_code", default_currency)
        v.raise_if_any()
        target = target_merchant(principal, merchant_id)
        try:
            async with self._uow() as uow:
                merchant = await uow.merchants.get(target)
                if merchant is None:
                    raise NotFound("merchant", target)
                merchant = replace(
                    merchant,
                    name=name.strip() if name is not None else merchant.name,
                    support_email=support_email if support_email is not None else merchant.support_email,
                    default_currency=default_currency or merchant.default_currency,
                    fee_percent_bps=merchant.fee_percent_bps if fee_percent_bps is None else fee_percent_bps,
                    fee_fixed=merchant.fee_fixed if fee_fixed is None else fee_fixed,
                    unknown_cards=unknown_cards or merchant.unknown_cards,
                    updated_at=self._clock(),
                )
                await uow.merchants.update(merchant)
                uow.notify(MerchantChanged(target))
                await uow.commit()
        except MerchantNameTaken:
            raise _merchant_name_taken() from None
        return merchant

    async def list_page(self, cursor: Cursor | None, limit: int) -> tuple[list[Merchant], bool]:
        async with self._uow() as uow:
            return await uow.merchants.list_page(cursor, limit)

    async def set_active(self, merchant_id: str, active: bool) -> Merchant:
        v = Violations()
        check_id(v, "merchant_id", merchant_id, ids.MERCHANT)
        v.raise_if_any()
        async with self._uow() as uow:
            merchant = await uow.merchants.get(merchant_id)
            if merchant is None:
                raise NotFound("merchant", merchant_id)
            merchant = replace(merchant, active=active, updated_at=self._clock())
            await uow.merchants.update(merchant)
            uow.notify(MerchantChanged(merchant_id))
            await uow.commit()
        return merchant

    async def create_api_key(self, principal: Principal, merchant_id: str, name: str) -> tuple[ApiKey, str]:
        v = Violations()
        check_id(v, "merchant_id", merchant_id, ids.MERCHANT, required=False)
        check_text(v, "name", name, max_chars=MAX_KEY_NAME_CHARS, required=True)
        v.raise_if_any()
        target = target_merchant(principal, merchant_id)
        secret, prefix = secrets.new_api_key()
        key = ApiKey(
            id=ids.new_id(ids.API_KEY),
            merchant_id=target,
            name=name.strip(),
            prefix=prefix,
            created_at=self._clock(),
            last_used_at=None,
            revoked_at=None,
            secret_hash=secrets.digest(secret),
        )
        try:
            async with self._uow() as uow:
                if await uow.merchants.get(target) is None:
                    raise NotFound("merchant", target)
                await uow.api_keys.add(key)
                await uow.commit()
        except ApiKeyNameTaken:
            raise AlreadyExists("an API key with this name exists", reason="API_KEY_NAME_TAKEN") from None
        return key, secret

    async def list_api_keys(
        self, principal: Principal, merchant_id: str, cursor: Cursor | None, limit: int
    ) -> tuple[list[ApiKey], bool]:
        v = Violations()
        check_id(v, "merchant_id", merchant_id, ids.MERCHANT, required=False)
        v.raise_if_any()
        target = target_merchant(principal, merchant_id)
        async with self._uow() as uow:
            return await uow.api_keys.list_page(target, cursor, limit)

    async def revoke_api_key(self, principal: Principal, key_id: str) -> ApiKey:
        v = Violations()
        check_id(v, "api_key_id", key_id, ids.API_KEY)
        v.raise_if_any()
        async with self._uow() as uow:
            key = await uow.api_keys.get(key_id)
            if key is None:
                raise NotFound("api_key", key_id)
            visible_merchant(principal, key.merchant_id, "api_key", key_id)
            if key.revoked_at is None:
                now = self._clock()
                await uow.api_keys.revoke(key_id, now)
                key = replace(key, revoked_at=now)
                uow.notify(MerchantChanged(key.merchant_id))
                await uow.commit()
        return key

    async def set_gateway_config(
        self,
        principal: Principal,
        merchant_id: str,
        *,
        gateway: str,
        enabled: bool,
        priority: int,
        settings: Mapping[str, str],
    ) -> GatewayConfig:
        """Create or replace the merchant's configuration of ``gateway`` (``created_at`` is kept)."""
        v = Violations()
        check_id(v, "merchant_id", merchant_id, ids.MERCHANT, required=False)
        check_gateway(v, "gateway", gateway, GATEWAY_NAMES)
        check_priority(v, "priority", priority)
        normalized = check_settings(v, "settings", settings)
        v.raise_if_any()
        target = target_merchant(principal, merchant_id)
        now = self._clock()
        async with self._uow() as uow:
            if await uow.merchants.get(target) is None:
                raise NotFound("merchant", target)
            config = await uow.gateway_configs.upsert(
                GatewayConfig(
                    merchant_id=target,
                    gateway=gateway,
                    enabled=enabled,
                    priority=priority,
                    settings=normalized,
                    created_at=now,
                    updated_at=now,
                )
            )
            uow.notify(GatewayConfigsChanged(target))
            await uow.commit()
        return config

    async def list_gateway_configs(self, principal: Principal, merchant_id: str) -> list[GatewayConfig]:
        """Every configuration of the merchant, disabled ones included, in routing order."""
        v = Violations()
        check_id(v, "merchant_id", merchant_id, ids.MERCHANT, required=False)
        v.raise_if_any()
        target = target_merchant(principal, merchant_id)
        async with self._uow() as uow:
            if await uow.merchants.get(target) is None:
                raise NotFound("merchant", target)
            return await uow.gateway_configs.list_for_merchant(target)

    async def delete_gateway_config(self, principal: Principal, merchant_id: str, gateway: str) -> GatewayConfig:
        """Delete the merchant's configuration of ``gateway``; returns it as it was."""
        v = Violations()
        check_id(v, "merchant_id", merchant_id, ids.MERCHANT, required=False)
        check_gateway(v, "gateway", gateway, GATEWAY_NAMES)
        v.raise_if_any()
        target = target_merchant(principal, merchant_id)
        async with self._uow() as uow:
            if await uow.merchants.get(target) is None:
                raise NotFound("merchant", target)
            config = await uow.gateway_configs.get(target, gateway)
            # A concurrent delete may win between the read and ours: then there was nothing left to delete.
            if config is None or not await uow.gateway_configs.delete(target, gateway):
                raise NotFound("gateway_config", gateway)
            uow.notify(GatewayConfigsChanged(target))
            await uow.commit()
        return config
