"""paysim.v1.MerchantService."""

from __future__ import annotations

from typing import Any

import grpc
from paysim_proto.v1 import merchant_pb2, merchant_pb2_grpc

from paysim.api.call_context import require_principal
from paysim.api.pages import next_token, read_page_request
from paysim.contract import identity_messages
from paysim.domain import currency
from paysim.domain.card_issuers import UnknownCards
from paysim.domain.validation import Violations
from paysim.services.merchants import MerchantService

Context = grpc.aio.ServicerContext[Any, Any]


def _unknown_cards(request: merchant_pb2.UpdateMerchantRequest) -> UnknownCards | None:
    if not request.HasField("unknown_cards") or request.unknown_cards == merchant_pb2.UNKNOWN_CARDS_UNSPECIFIED:
        return None
    found = identity_messages.UNKNOWN_CARDS_FROM_PROTO.get(request.unknown_cards)
    if found is None:
        v = Violations()
        v.add("unknown_cards", "must be UNKNOWN_CARDS_APPROVE or UNKNOWN_CARDS_REFUSE", "INVALID_ENUM")
        v.raise_if_any()
    return found


class MerchantServicer(merchant_pb2_grpc.MerchantServiceServicer):
    def __init__(self, merchants: MerchantService) -> None:
        self._merchants = merchants

    async def RegisterMerchant(
        self, request: merchant_pb2.RegisterMerchantRequest, context: Context
    ) -> merchant_pb2.RegisterMerchantResponse:
        merchant, owner = await self._merchants.register(
            name=request.name,
            owner_email=request.owner_email,
            owner_password=request.owner_password,
            owner_full_name=request.owner_full_name,
            support_email=request.support_email,
            default_currency=currency.normalize(request.default_currency_code),
        )
        return merchant_pb2.RegisterMerchantResponse(
            merchant=identity_messages.merchant(merchant), owner=identity_messages.user(owner)
        )

    async def GetMerchant(
        self, request: merchant_pb2.GetMerchantRequest, context: Context
    ) -> merchant_pb2.GetMerchantResponse:
        merchant = await self._merchants.get(require_principal(), request.merchant_id)
        return merchant_pb2.GetMerchantResponse(merchant=identity_messages.merchant(merchant))

    async def UpdateMerchant(
        self, request: merchant_pb2.UpdateMerchantRequest, context: Context
    ) -> merchant_pb2.UpdateMerchantResponse:
        merchant = await self._merchants.update(
            require_principal(),
            request.merchant_id,
            name=request.name if request.HasField("name") else None,
            support_email=request.support_email if request.HasField("support_email") else None,
            default_currency=(
                currency.normalize(request.default_currency_code) if request.HasField("default_currency_code") else None
            ),
            fee_percent_bps=request.fee_percent_bps if request.HasField("fee_percent_bps") else None,
            fee_fixed=request.fee_fixed_minor if request.HasField("fee_fixed_minor") else None,
            unknown_cards=_unknown_cards(request),
        )
        return merchant_pb2.UpdateMerchantResponse(merchant=identity_messages.merchant(merchant))

    async def ListMerchants(
        self, request: merchant_pb2.ListMerchantsRequest, context: Context
    ) -> merchant_pb2.ListMerchantsResponse:
        query, filters = "merchants", ()
        cursor, limit = read_page_request(query, filters, request.page_size, request.page_token)
        rows, more = await self._merchants.list_page(cursor, limit)
        return merchant_pb2.ListMerchantsResponse(
            merchants=[identity_messages.merchant(m) for m in rows],
            next_page_token=next_token(query, filters, rows, more),
        )

    async def ActivateMerchant(
        self, request: merchant_pb2.ActivateMerchantRequest, context: Context
    ) -> merchant_pb2.ActivateMerchantResponse:
        merchant = await self._merchants.set_active(request.merchant_id, True)
        return merchant_pb2.ActivateMerchantResponse(merchant=identity_messages.merchant(merchant))

    async def DeactivateMerchant(
        self, request: merchant_pb2.DeactivateMerchantRequest, context: Context
    ) -> merchant_pb2.DeactivateMerchantResponse:
        merchant = await self._merchants.set_active(request.merchant_id, False)
        return merchant_pb2.DeactivateMerchantResponse(merchant=identity_messages.merchant(merchant))

    async def CreateApiKey(
        self, request: merchant_pb2.CreateApiKeyRequest, context: Context
    ) -> merchant_pb2.CreateApiKeyResponse:
        key, secret = await self._merchants.create_api_key(require_principal(), request.merchant_id, request.name)
        return merchant_pb2.CreateApiKeyResponse(api_key=identity_messages.api_key(key), secret=secret)

    async def ListApiKeys(
        self, request: merchant_pb2.ListApiKeysRequest, context: Context
    ) -> merchant_pb2.ListApiKeysResponse:
        principal = require_principal()
        query, filters = "api_keys", (request.merchant_id,)
        cursor, limit = read_page_request(query, filters, request.page_size, request.page_token)
        rows, more = await self._merchants.list_api_keys(principal, request.merchant_id, cursor, limit)
        return merchant_pb2.ListApiKeysResponse(
            api_keys=[identity_messages.api_key(k) for k in rows],
            next_page_token=next_token(query, filters, rows, more),
        )

    async def RevokeApiKey(
        self, request: merchant_pb2.RevokeApiKeyRequest, context: Context
    ) -> merchant_pb2.RevokeApiKeyResponse:
        key = await self._merchants.revoke_api_key(require_principal(), request.api_key_id)
        return merchant_pb2.RevokeApiKeyResponse(api_key=identity_messages.api_key(key))

    async def SetGatewayConfig(
        self, request: merchant_pb2.SetGatewayConfigRequest, context: Context
    ) -> merchant_pb2.SetGatewayConfigResponse:
        config = await self._merchants.set_gateway_config(
            require_principal(),
            request.merchant_id,
            gateway=request.gateway,
            enabled=request.enabled if request.HasField("enabled") else True,
            priority=request.priority,
            settings=dict(request.settings),
        )
        return merchant_pb2.SetGatewayConfigResponse(gateway_config=identity_messages.gateway_config(config))

    async def ListGatewayConfigs(
        self, request: merchant_pb2.ListGatewayConfigsRequest, context: Context
    ) -> merchant_pb2.ListGatewayConfigsResponse:
        configs = await self._merchants.list_gateway_configs(require_principal(), request.merchant_id)
        return merchant_pb2.ListGatewayConfigsResponse(
            gateway_configs=[identity_messages.gateway_config(c) for c in configs]
        )

    async def DeleteGatewayConfig(
        self, request: merchant_pb2.DeleteGatewayConfigRequest, context: Context
    ) -> merchant_pb2.DeleteGatewayConfigResponse:
        config = await self._merchants.delete_gateway_config(require_principal(), request.merchant_id, request.gateway)
        return merchant_pb2.DeleteGatewayConfigResponse(gateway_config=identity_messages.gateway_config(config))
