"""What routing needs to know of a merchant before a gateway call: its circuit breakers and the
simulated faults in force (its own and the platform's), read together.

On the PostgreSQL payment hot path this is one statement inside the payment's own first
transaction, so routing adds no transaction of its own to a payment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC

from paysim.domain.circuit_breaker import BreakerState
from paysim.domain.gateway_faults import PLATFORM_SCOPE, GatewayFaults
from paysim.store.repositories._common import DualRepository
from paysim.store.repositories.circuit_breakers import CircuitBreakerRepository, StoredBreaker
from paysim.store.repositories.gateway_faults import GatewayFaultRepository


@dataclass(frozen=True, slots=True)
class RoutingState:
    breakers: dict[str, StoredBreaker] = field(default_factory=dict)  # by gateway
    faults: list[GatewayFaults] = field(default_factory=list)  # the merchant's and the platform's


_SQL = (
    "SELECT 'b', scope, gateway, state_json, version, updated_at FROM circuit_breakers WHERE scope = %s"
    " UNION ALL"
    " SELECT 'f', scope, gateway, faults_json, 0, updated_at FROM gateway_faults WHERE scope IN (%s, %s)"
)


class RoutingStateRepository(DualRepository):
    async def load(self, merchant_id: str) -> RoutingState:
        if self._pg is not None:
            cur = await self._pg.execute(_SQL, (merchant_id, merchant_id, PLATFORM_SCOPE))
            state = RoutingState()
            for kind, scope, gateway, blob, version, updated in await cur.fetchall():
                data = json.loads(blob)
                if kind == "b":
                    breaker = StoredBreaker(
                        scope, gateway, BreakerState.from_dict(data), version, updated.astimezone(UTC)
                    )
                    state.breakers[gateway] = breaker
                else:
                    state.faults.append(GatewayFaults.from_dict(scope, gateway, data, updated.astimezone(UTC)))
            return state
        breakers = await CircuitBreakerRepository(self._db).list(merchant_id)
        faults = await GatewayFaultRepository(self._db).for_scopes([merchant_id, PLATFORM_SCOPE])
        return RoutingState({b.gateway: b for b in breakers}, faults)
