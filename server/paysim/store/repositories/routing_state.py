"""What routing needs to know of a merchant before a gateway call: its circuit breakers, the
simulated faults in force (its own and the platform's) and which gateways have a chaos profile,
read together.

Read inside the payment's own first transaction, so routing adds no transaction of its own to a
payment (the psycopg adapter, pg/routing_state.py, reads it in one statement).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paysim.domain.gateway_faults import PLATFORM_SCOPE, GatewayFaults
from paysim.store.repositories._common import SqlRepository
from paysim.store.repositories.chaos_profiles import ChaosProfileRepository
from paysim.store.repositories.circuit_breakers import CircuitBreakerRepository, StoredBreaker
from paysim.store.repositories.gateway_faults import GatewayFaultRepository


@dataclass(frozen=True, slots=True)
class RoutingState:
    breakers: dict[str, StoredBreaker] = field(default_factory=dict)  # by gateway
    faults: list[GatewayFaults] = field(default_factory=list)  # the merchant's and the platform's
    chaos: frozenset[str] = frozenset()  # gateways with a chaos profile for the merchant


class RoutingStateRepository(SqlRepository):
    async def load(self, merchant_id: str) -> RoutingState:
        breakers = await CircuitBreakerRepository(self._conn).list(merchant_id)
        faults = await GatewayFaultRepository(self._conn).for_scopes([merchant_id, PLATFORM_SCOPE])
        chaos = await ChaosProfileRepository(self._conn).gateways(merchant_id)
        return RoutingState({b.gateway: b for b in breakers}, faults, chaos)
