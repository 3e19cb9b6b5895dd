"""A merchant's circuit breakers, the faults in force for it and its chaos gateways, in one statement."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC
from typing import Any

import psycopg

from paysim.domain.circuit_breaker import BreakerState
from paysim.domain.gateway_faults import PLATFORM_SCOPE, GatewayFaults
from paysim.store.repositories.circuit_breakers import StoredBreaker
from paysim.store.repositories.routing_state import RoutingState

_SQL = (
    "SELECT 'b', scope, gateway, state_json, version, updated_at FROM circuit_breakers WHERE scope = %s"
    " UNION ALL"
    " SELECT 'f', scope, gateway, faults_json, 0, updated_at FROM gateway_faults WHERE scope IN (%s, %s)"
    " UNION ALL"
    " SELECT 'c', merchant_id, gateway, '{}', 0, updated_at FROM chaos_profiles WHERE merchant_id = %s"
)


class PgRoutingStateRepository:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def load(self, merchant_id: str) -> RoutingState:
        cur = await self._conn.execute(_SQL, (merchant_id, merchant_id, PLATFORM_SCOPE, merchant_id))
        state = RoutingState()
        chaos: set[str] = set()
        for kind, scope, gateway, blob, version, updated in await cur.fetchall():
            data = json.loads(blob)
            if kind == "c":
                chaos.add(gateway)
            elif kind == "b":
                breaker = StoredBreaker(scope, gateway, BreakerState.from_dict(data), version, updated.astimezone(UTC))
                state.breakers[gateway] = breaker
            else:
                state.faults.append(GatewayFaults.from_dict(scope, gateway, data, updated.astimezone(UTC)))
        return replace(state, chaos=frozenset(chaos))
