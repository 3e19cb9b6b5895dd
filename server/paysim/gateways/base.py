"""The one gateway interface every processor adapter implements, and the vocabulary it speaks:
requests, payment methods, results and the reasons of an error result.

Each call carries a downstream idempotency key derived from the payment (e.g. ``pay_…:authorize``)
so that repeating a call after a crash or a timeout never performs the operation twice.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from paysim.domain.overrides import Override
from paysim.domain.payment_methods import MethodType
from paysim.domain.scenarios import Scenario

METHOD_NOT_SUPPORTED = "method_not_supported"
"""``error_reason`` of an ``Outcome.ERROR`` result for a payment method the gateway does not take."""

UNKNOWN_REFERENCE = "unknown_reference"
"""``error_reason`` of an ``Outcome.ERROR`` result for a capture/void/refund of a reference that is not
one of this gateway's authorization ids."""


class Outcome(enum.StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Card:
    pan: str = field(repr=False)
    exp_month: int = 0
    exp_year: int = 0
    holder_name: str = ""
    test_card: Scenario | None = None  # for a card given without its number (AuthorizationRequest)

    @property
    def kind(self) -> MethodType:
        return MethodType.CARD


@dataclass(frozen=True, slots=True)
class Upi:
    """A UPI collect request to a virtual payment address such as ``success@razorpay``."""

    vpa: str

    @property
    def kind(self) -> MethodType:
        return MethodType.UPI


@dataclass(frozen=True, slots=True)
class PayPalWallet:
    """A PayPal account, by the payer's email."""

    email: str

    @property
    def kind(self) -> MethodType:
        return MethodType.PAYPAL_WALLET


PaymentMethod = Card | Upi | PayPalWallet


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
    # A payment paid another way than by card: the account it charges (the card fields are empty).
    method: Upi | PayPalWallet | None = None

    @property
    def method_type(self) -> MethodType:
        return MethodType.CARD if self.method is None else self.method.kind


@dataclass(frozen=True, slots=True)
class GatewayResult:
    outcome: Outcome
    reference: str = ""
    decline_code: str = ""
    message: str = ""
    latency_ms: int = 0
    # Why, for an ``Outcome.ERROR`` the gateway refused before processing (METHOD_NOT_SUPPORTED,
    # UNKNOWN_REFERENCE …); "" for any other error, which a router counts as a failure.
    error_reason: str = ""
    # Set by the router when the simulator acted on the call: "chaos:<kind>#<draw>",
    # "outage:<scope>" or "script:<scope>"; ``chaos`` when a chaos draw made the outcome.
    simulated_by: str = ""
    chaos: bool = False


class Gateway(Protocol):
    name: str

    def supports(self, method: MethodType) -> bool:
        """Whether the gateway takes payments of this kind (a router asks before it routes)."""
        ...

    async def authorize(self, request: AuthorizationRequest) -> GatewayResult:
        """Authorize (and with ``capture`` also capture) an amount with the card or the request's method."""
        ...

    async def capture(self, downstream_key: str, reference: str, amount: int) -> GatewayResult: ...

    async def void(self, downstream_key: str, reference: str) -> GatewayResult: ...

    async def refund(self, downstream_key: str, reference: str, amount: int) -> GatewayResult: ...

    async def status(self, downstream_key: str) -> GatewayResult | None:
        """What the gateway knows of an earlier call, or None if it never saw it."""
        ...

    async def healthy(self) -> bool: ...
