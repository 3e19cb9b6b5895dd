"""``client.merchants``: merchants, their API keys and their gateway configurations.

A merchant's users and API keys act on their own merchant (leave ``merchant_id`` empty); an
admin names the merchant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from paysim_proto.v1 import merchant_pb2

from paysim_client._blocking import blocking, blocking_pager
from paysim_client._generated import rpcs
from paysim_client._loop_thread import LoopThread
from paysim_client._transport import Transport
from paysim_client.config import RetryPolicy
from paysim_client.pagers import AsyncPager, Page
from paysim_client.resources._base import AsyncResource, BlockingResource, string_map


class AsyncApiKeys(AsyncResource):
    """A merchant's API keys (``sk_test_…``): the secret is shown once, at creation."""

    async def create(
        self, name: str, *, merchant_id: str = "", timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> merchant_pb2.CreateApiKeyResponse:
        """Create a key; the answer's ``secret`` is the only time the full key is shown."""
        request = merchant_pb2.CreateApiKeyRequest(merchant_id=merchant_id, name=name)
        return await self._transport.call(rpcs.CREATE_API_KEY, request, timeout=timeout, retry=retry)

    def list(
        self,
        *,
        merchant_id: str = "",
        page_size: int = 0,
        page_token: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPager[merchant_pb2.ApiKey]:
        """The merchant's keys (prefixes only, never secrets), page after page."""

        return self._listing(
            rpcs.LIST_API_KEYS,
            lambda token: merchant_pb2.ListApiKeysRequest(
                merchant_id=merchant_id, page_size=page_size, page_token=token
            ),
            lambda reply: Page(reply.api_keys, reply.next_page_token),
            page_token=page_token,
            timeout=timeout,
            retry=retry,
        )

    async def revoke(
        self, api_key_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> merchant_pb2.ApiKey:
        """Revoke a key at once; calls with it are refused from then on."""
        request = merchant_pb2.RevokeApiKeyRequest(api_key_id=api_key_id)
        reply = await self._transport.call(rpcs.REVOKE_API_KEY, request, timeout=timeout, retry=retry)
        return reply.api_key


class AsyncGatewayConfigs(AsyncResource):
    """Which gateways a merchant's payments are routed to, in what order, with what settings."""

    async def set(
        self,
        gateway: str,
        *,
        priority: int,
        enabled: bool | None = None,
        settings: Mapping[str, str | int] | None = None,
        merchant_id: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> merchant_pb2.GatewayConfig:
        """Create or replace one gateway's configuration (all of it: a setting left out is reset).

        ``gateway``: ``stripe``, ``paypal``, ``razorpay`` or ``simulator``; ``priority`` 1 to 100,
        1 tried first; ``enabled`` defaults to true; ``settings`` such as ``{"timeout_ms": 2000,
        "latency_ms": 150}``.
        """
        request = merchant_pb2.SetGatewayConfigRequest(
            merchant_id=merchant_id, gateway=gateway, enabled=enabled, priority=priority, settings=string_map(settings)
        )
        reply = await self._transport.call(rpcs.SET_GATEWAY_CONFIG, request, timeout=timeout, retry=retry)
        return reply.gateway_config

    async def list(
        self, *, merchant_id: str = "", timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> Sequence[merchant_pb2.GatewayConfig]:
        """The merchant's configurations in routing order, disabled ones included."""
        request = merchant_pb2.ListGatewayConfigsRequest(merchant_id=merchant_id)
        reply = await self._transport.call(rpcs.LIST_GATEWAY_CONFIGS, request, timeout=timeout, retry=retry)
        return reply.gateway_configs

    async def delete(
        self, gateway: str, *, merchant_id: str = "", timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> merchant_pb2.GatewayConfig:
        """Delete one configuration and return it as it was (``NotFound`` if there is none)."""
        request = merchant_pb2.DeleteGatewayConfigRequest(merchant_id=merchant_id, gateway=gateway)
        reply = await self._transport.call(rpcs.DELETE_GATEWAY_CONFIG, request, timeout=timeout, retry=retry)
        return reply.gateway_config


class AsyncMerchants(AsyncResource):
    """Merchants; ``api_keys`` and ``gateway_configs`` are their sub-resources."""

    def __init__(self, transport: Transport) -> None:
        super().__init__(transport)
        self.api_keys = AsyncApiKeys(transport)
        self.gateway_configs = AsyncGatewayConfigs(transport)

    async def register(
        self,
        *,
        name: str,
        owner_email: str,
        owner_password: str,
        owner_full_name: str = "",
        support_email: str = "",
        default_currency_code: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> merchant_pb2.RegisterMerchantResponse:
        """Register a merchant and its owner account (no credentials needed); returns both."""
        request = merchant_pb2.RegisterMerchantRequest(
            name=name,
            owner_email=owner_email,
            owner_password=owner_password,
            owner_full_name=owner_full_name,
            support_email=support_email,
            default_currency_code=default_currency_code,
        )
        return await self._transport.call(rpcs.REGISTER_MERCHANT, request, timeout=timeout, retry=retry)

    async def get(
        self, merchant_id: str = "", *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> merchant_pb2.Merchant:
        """The caller's merchant, or (admins) the one named."""
        request = merchant_pb2.GetMerchantRequest(merchant_id=merchant_id)
        reply = await self._transport.call(rpcs.GET_MERCHANT, request, timeout=timeout, retry=retry)
        return reply.merchant

    async def update(
        self,
        merchant_id: str = "",
        *,
        name: str | None = None,
        support_email: str | None = None,
        default_currency_code: str | None = None,
        fee_percent_bps: int | None = None,
        fee_fixed_minor: int | None = None,
        unknown_cards: merchant_pb2.UnknownCards.ValueType | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> merchant_pb2.Merchant:
        """Change the fields given (the others stay as they are) and return the merchant.
        ``unknown_cards``: ``UNKNOWN_CARDS_REFUSE`` refuses valid card numbers outside the test
        catalogue, ``UNKNOWN_CARDS_APPROVE`` (the default) approves them."""
        request = merchant_pb2.UpdateMerchantRequest(
            merchant_id=merchant_id,
            name=name,
            support_email=support_email,
            default_currency_code=default_currency_code,
            fee_percent_bps=fee_percent_bps,
            fee_fixed_minor=fee_fixed_minor,
            unknown_cards=unknown_cards,
        )
        reply = await self._transport.call(rpcs.UPDATE_MERCHANT, request, timeout=timeout, retry=retry)
        return reply.merchant

    def list(
        self,
        *,
        page_size: int = 0,
        page_token: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPager[merchant_pb2.Merchant]:
        """Every merchant, page after page (admins only)."""

        return self._listing(
            rpcs.LIST_MERCHANTS,
            lambda token: merchant_pb2.ListMerchantsRequest(page_size=page_size, page_token=token),
            lambda reply: Page(reply.merchants, reply.next_page_token),
            page_token=page_token,
            timeout=timeout,
            retry=retry,
        )

    async def activate(
        self, merchant_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> merchant_pb2.Merchant:
        """Let a deactivated merchant's credentials in again (admins only)."""
        request = merchant_pb2.ActivateMerchantRequest(merchant_id=merchant_id)
        reply = await self._transport.call(rpcs.ACTIVATE_MERCHANT, request, timeout=timeout, retry=retry)
        return reply.merchant

    async def deactivate(
        self, merchant_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> merchant_pb2.Merchant:
        """Refuse the merchant's credentials (``MerchantInactive``) until activated (admins only)."""
        request = merchant_pb2.DeactivateMerchantRequest(merchant_id=merchant_id)
        reply = await self._transport.call(rpcs.DEACTIVATE_MERCHANT, request, timeout=timeout, retry=retry)
        return reply.merchant


class ApiKeys(BlockingResource[AsyncApiKeys]):
    """A merchant's API keys (blocking); see :class:`AsyncApiKeys`."""

    create = blocking(AsyncApiKeys.create)
    list = blocking_pager(AsyncApiKeys.list)
    revoke = blocking(AsyncApiKeys.revoke)


class GatewayConfigs(BlockingResource[AsyncGatewayConfigs]):
    """A merchant's gateway configurations (blocking); see :class:`AsyncGatewayConfigs`."""

    set = blocking(AsyncGatewayConfigs.set)
    list = blocking(AsyncGatewayConfigs.list)
    delete = blocking(AsyncGatewayConfigs.delete)


class Merchants(BlockingResource[AsyncMerchants]):
    """Merchants (blocking); see :class:`AsyncMerchants`."""

    def __init__(self, runner: LoopThread, async_resource: AsyncMerchants) -> None:
        super().__init__(runner, async_resource)
        self.api_keys = ApiKeys(runner, async_resource.api_keys)
        self.gateway_configs = GatewayConfigs(runner, async_resource.gateway_configs)

    register = blocking(AsyncMerchants.register)
    get = blocking(AsyncMerchants.get)
    update = blocking(AsyncMerchants.update)
    list = blocking_pager(AsyncMerchants.list)
    activate = blocking(AsyncMerchants.activate)
    deactivate = blocking(AsyncMerchants.deactivate)
