"""Where a merchant's payments go: its gateway configurations in routing order, briefly cached.

A merchant with no configuration routes to the simulator alone. The cache is dropped for a merchant
as soon as its configurations change in this process; other processes notice within its lifetime.
"""

from __future__ import annotations

from paysim.domain.gateway_settings import DEFAULT_GATEWAY, LATENCY_MS, TIMEOUT_MS, routing_order, setting
from paysim.services.routing import Route
from paysim.services.ttl_cache import TtlCache
from paysim.store.unit_of_work import UnitOfWorkFactory


class ConfiguredRoutes:
    def __init__(self, uow: UnitOfWorkFactory, default_timeout_ms: int, cache_seconds: float) -> None:
        self._uow = uow
        self._default_timeout_ms = default_timeout_ms
        self._cache: TtlCache[list[Route]] = TtlCache(cache_seconds)

    async def routes(self, merchant_id: str) -> list[Route]:
        cached = self._cache.get(merchant_id)
        if cached is not None:
            return cached
        async with self._uow() as uow:
            configs = await uow.gateway_configs.list_for_merchant(merchant_id)
        if configs:
            routes = [
                Route(
                    c.gateway,
                    setting(c.settings, TIMEOUT_MS, default=self._default_timeout_ms),
                    setting(c.settings, LATENCY_MS),
                )
                for c in routing_order(configs)
            ]
        else:
            routes = [Route(DEFAULT_GATEWAY, self._default_timeout_ms)]
        self._cache.put(merchant_id, routes)
        return routes

    def changed(self, merchant_id: str) -> None:
        self._cache.discard(merchant_id)
