"""The gateway interface every processor adapter implements.

Each call carries a downstream idempotency key derived from the payment (e.g. ``pay_…:authorize``)
so that repeating a call after a crash or a timeout never performs the operation twice.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from paysim.domain.overrides import Override
from paysim.domain.scenarios import Scenario


class Outcome(enum.StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    downstream_key: str
    amount: int
    currency: str
    pan: str = field(repr=False)
    exp_month: int = 0
    exp_year: int = 0
    holder_name: str = ""
    capture: bool = True
    # A per-request simulation override (paysim-force-outcome / paysim-latency-ms), if any.
    override: Override | None = None
    # For a request without the number (``pan`` empty: a payment resumed after 3-D Secure keeps
    # only its card's fingerprint): the test card the network recognised from that fingerprint
    # (engine.CatalogueCards), None for a card outside the catalogue. Decides as the number would.
    test_card: Scenario | None = None


@dataclass(frozen=True, slots=True)
class GatewayResult:
    outcome: Outcome
    reference: str = ""
    decline_code: str = ""
    message: str = ""
    latency_ms: int = 0


class Gateway(Protocol):
    name: str

    async def authorize(self, request: AuthorizationRequest) -> GatewayResult:
        """Authorize (and with ``capture`` also capture) an amount on a card."""

    async def capture(self, downstream_key: str, reference: str, amount: int) -> GatewayResult: ...

    async def void(self, downstream_key: str, reference: str) -> GatewayResult: ...

    async def refund(self, downstream_key: str, reference: str, amount: int) -> GatewayResult: ...

    async def status(self, downstream_key: str) -> GatewayResult | None:
        """What the gateway knows of an earlier call, or None if it never saw it."""

    async def healthy(self) -> bool: ...
