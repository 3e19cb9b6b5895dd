"""What the flavoured gateways (``stripe``, ``paypal``, ``razorpay``) share: payment methods, the native
detail on a result, the native ⇄ paysim decline-code table, and the ``FlavouredGateway`` base class.

Each flavoured gateway is an in-process simulated processor implementing the ``Gateway`` protocol
(gateways/base.py): ``authorize(AuthorizationRequest)`` takes the card or the request's other method,
as :meth:`FlavouredGateway.authorize_payment` does with a :class:`PaymentRequest`.

Results are :class:`FlavouredResult`, a ``GatewayResult`` with one more field:

- ``native``: the processor's own answer (:class:`NativeDetail`: its code, finer reason, object status,
  description and related object id). A declined result's ``decline_code`` is *derived from* the native
  code through the adapter's :class:`DeclineTable`, as an adapter to the real processor would do.
- ``error_reason`` (a field every ``GatewayResult`` has): for ``Outcome.ERROR`` results, why
  (:data:`METHOD_NOT_SUPPORTED`, :data:`UNKNOWN_REFERENCE`).

``message`` has a fixed format so that code that only sees a ``GatewayResult`` can still read it:
``"<native code>[/<native reason>]: <text>"``, and for errors ``"<error_reason>: <native…>: <text>"``.

Rules shared by all three:

- Cards go through the same deterministic scenario engine as the simulator (:func:`engine.card_decision`).
- Every call first waits ``latency_ms`` (``asyncio.sleep``; zero unless configured), then answers.
  ``status`` waits too (it is a call to the processor); ``healthy`` does not.
- A downstream key seen before returns the first result (recorded latency included) and never acts again;
  ``status(key)`` answers from the same ledger.
- Requests the processor refuses before processing — a method it does not take, a capture, void or refund
  of a reference that is not in its id format — are ``Outcome.ERROR`` results and are *not* remembered:
  nothing happened, so ``status(key)`` stays ``None`` and a router may try another gateway. Routers should
  ask :meth:`FlavouredGateway.supports` first, and should not count these as breaker failures.
"""

from __future__ import annotations

import abc
import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from paysim.domain.declines import DECLINES
from paysim.domain.overrides import Forced, Override
from paysim.domain.payment_methods import MethodType
from paysim.gateways.base import (
    METHOD_NOT_SUPPORTED,
    UNKNOWN_REFERENCE,
    AuthorizationRequest,
    Card,
    GatewayResult,
    Outcome,
    PaymentMethod,
)
from paysim.gateways.engine import LEDGER_SIZE, Decision, Ledger, amount_decision, card_decision, overridden

FORCED_ERROR = "forced_error"
"""``error_reason`` of an ``Outcome.ERROR`` result forced by a per-request override."""


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """An authorization with any payment method (``AuthorizationRequest`` takes cards only)."""

    downstream_key: str
    amount: int
    currency: str
    method: PaymentMethod
    capture: bool = True
    # A per-request simulation override (paysim-force-outcome / paysim-latency-ms), if any.
    override: Override | None = None

    @classmethod
    def from_authorization(cls, request: AuthorizationRequest) -> PaymentRequest:
        method = request.method or Card(
            request.pan, request.exp_month, request.exp_year, request.holder_name, request.test_card
        )
        return cls(request.downstream_key, request.amount, request.currency, method, request.capture, request.override)


@dataclass(frozen=True, slots=True)
class NativeCode:
    """A processor's decline identity: its primary code and the finer reason that tells declines apart
    (Stripe: error code + decline_code; PayPal: issue + processor response code; Razorpay: error code +
    reason)."""

    code: str
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.code}/{self.reason}" if self.reason else self.code


@dataclass(frozen=True, slots=True)
class NativeDetail:
    """The processor's own view of a result."""

    gateway: str
    code: str = ""  # decline/error code in the processor's vocabulary; "" when approved
    reason: str = ""  # the finer code (see NativeCode)
    status: str = ""  # the processor's object status, e.g. "requires_capture", "COMPLETED", "captured"
    description: str = ""  # the processor's own text (PayPal's response-code name, Razorpay's description)
    object_id: str = ""  # a related processor object (Stripe's charge, PayPal's capture/authorization id)

    @property
    def native_code(self) -> NativeCode:
        return NativeCode(self.code, self.reason)


@dataclass(frozen=True, slots=True)
class FlavouredResult(GatewayResult):
    native: NativeDetail | None = None


class DeclineTable:
    """A total, round-tripping map between paysim decline codes and one processor's native codes.

    ``forward`` must name a distinct native code for every paysim decline code (checked on construction),
    so ``to_paysim(to_native(c)) == c`` for all of them. ``extra`` adds native codes that only arise
    outside the forward table (e.g. Razorpay's ``invalid_vpa``) and the paysim code each means.
    """

    def __init__(self, forward: Mapping[str, NativeCode], extra: Mapping[NativeCode, str] | None = None) -> None:
        missing = sorted(set(DECLINES) - set(forward))
        unknown = sorted(set(forward) - set(DECLINES))
        if missing or unknown:
            raise ValueError(f"decline table: missing {missing}, unknown {unknown}")
        back: dict[NativeCode, str] = {}
        for code, native in forward.items():
            if native in back:
                raise ValueError(f"decline table: {native} names both {back[native]} and {code}")
            back[native] = code
        for native, code in (extra or {}).items():
            if native in back or code not in DECLINES:
                raise ValueError(f"decline table: bad extra entry {native} → {code}")
            back[native] = code
        self._forward = MappingProxyType(dict(forward))
        self._back = MappingProxyType(back)

    @property
    def forward(self) -> Mapping[str, NativeCode]:
        return self._forward

    @property
    def back(self) -> Mapping[NativeCode, str]:
        return self._back

    def to_native(self, paysim_code: str) -> NativeCode:
        """The native code for a paysim decline code; ``KeyError`` for an unknown code."""
        return self._forward[paysim_code]

    def to_paysim(self, native: NativeCode) -> str:
        """The paysim decline code a native code means; ``KeyError`` for a code outside the table."""
        return self._back[native]

    def rows(self) -> Iterable[tuple[str, NativeCode]]:
        return self._forward.items()


class FlavouredGateway(abc.ABC):
    """The engine, ledger and latency every flavoured gateway shares; subclasses give the character
    (ids, native vocabulary, methods)."""

    name: str
    methods: frozenset[MethodType] = frozenset({MethodType.CARD})
    declines: DeclineTable
    reference_pattern: re.Pattern[str]  # the authorization reference this gateway issues

    def __init__(self, *, latency_ms: int = 0, ledger_size: int = LEDGER_SIZE) -> None:
        if latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        self.latency_ms = latency_ms
        self._ledger: Ledger[FlavouredResult] = Ledger(ledger_size)
        # Authorizations by reference, so a capture can name the objects its authorization created.
        self._authorizations: Ledger[FlavouredResult] = Ledger(ledger_size)

    # -- the Gateway protocol ------------------------------------------------------------------------

    async def authorize(self, request: AuthorizationRequest) -> FlavouredResult:
        """Authorize (and with ``capture`` also capture) an amount with the card or the request's method."""
        return await self.authorize_payment(PaymentRequest.from_authorization(request))

    async def capture(self, downstream_key: str, reference: str, amount: int) -> FlavouredResult:
        return await self._operate(downstream_key, reference, lambda: self._capture(reference, amount))

    async def void(self, downstream_key: str, reference: str) -> FlavouredResult:
        return await self._operate(downstream_key, reference, lambda: self._void(reference))

    async def refund(self, downstream_key: str, reference: str, amount: int) -> FlavouredResult:
        return await self._operate(downstream_key, reference, lambda: self._refund(reference, amount))

    async def status(self, downstream_key: str) -> FlavouredResult | None:
        """What the gateway knows of an earlier call, or None if it never saw it."""
        await self._wait()
        return self._ledger.get(downstream_key)

    async def healthy(self) -> bool:
        return True

    # -- beyond the protocol -------------------------------------------------------------------------

    def supports(self, method: PaymentMethod | MethodType) -> bool:
        kind = method if isinstance(method, MethodType) else method.kind
        return kind in self.methods

    @property
    def ledger_size(self) -> int:
        """How many calls the gateway remembers (one per downstream key that acted)."""
        return len(self._ledger)

    async def authorize_payment(self, request: PaymentRequest) -> FlavouredResult:
        """Authorize a payment with any method this gateway takes; others → ``METHOD_NOT_SUPPORTED``."""
        started = time.perf_counter()
        await self._wait()
        if (seen := self._ledger.get(request.downstream_key)) is not None:
            return seen
        override = request.override
        if override is not None and override.latency_ms:
            await asyncio.sleep(override.latency_ms / 1000)
        if not self.supports(request.method):
            return _timed(self._method_not_supported(request.method.kind), started)
        if override is not None and override.outcome is Forced.ERROR:
            # Like a refusal, a forced processor error is not remembered: nothing happened.
            return _timed(self._error(FORCED_ERROR, "forced error (paysim-force-outcome)"), started)
        if isinstance(request.method, Card):
            card = request.method
            decision = overridden(card_decision(card.pan, request.amount, card.holder_name, card.test_card), override)
            result = self._authorization(request, decision, None)
        else:
            decision, native = self._decide_method(request)
            forced = overridden(decision, override)
            result = self._authorization(request, forced, native if forced is decision else None)
        result = _timed(result, started)
        self._authorizations.remember(result.reference, result)
        return self._ledger.remember(request.downstream_key, result)

    # -- what each processor defines -----------------------------------------------------------------

    def _decide_method(self, request: PaymentRequest) -> tuple[Decision, NativeCode | None]:
        """The decision for a non-card method this gateway takes, and the native decline code when it is
        not the table's (e.g. Razorpay's ``invalid_vpa``)."""
        return amount_decision(request.amount), None

    @abc.abstractmethod
    def _authorization(
        self, request: PaymentRequest, decision: Decision, native: NativeCode | None
    ) -> FlavouredResult: ...

    @abc.abstractmethod
    def _capture(self, reference: str, amount: int) -> FlavouredResult: ...

    @abc.abstractmethod
    def _void(self, reference: str) -> FlavouredResult: ...

    @abc.abstractmethod
    def _refund(self, reference: str, amount: int) -> FlavouredResult: ...

    @abc.abstractmethod
    def _rejection(self, error_reason: str, text: str) -> NativeDetail:
        """The processor's native error for a request it refuses (``METHOD_NOT_SUPPORTED``,
        ``UNKNOWN_REFERENCE``)."""

    # -- helpers for subclasses ----------------------------------------------------------------------

    def _declined(
        self,
        decision: Decision,
        native: NativeCode | None,
        reference: str,
        status: str,
        description: str = "",
        object_id: str = "",
    ) -> FlavouredResult:
        """A declined result whose paysim code is read back from the native code."""
        code = native if native is not None else self.declines.to_native(decision.decline_code)
        detail = NativeDetail(self.name, code.code, code.reason, status, description, object_id)
        return FlavouredResult(
            Outcome.DECLINED,
            reference,
            decline_code=self.declines.to_paysim(code),
            message=f"{code}: {decision.description}",
            native=detail,
        )

    def _approved(self, reference: str, status: str, text: str, object_id: str = "") -> FlavouredResult:
        detail = NativeDetail(self.name, status=status, object_id=object_id)
        return FlavouredResult(Outcome.APPROVED, reference, message=f"{status}: {text}", native=detail)

    def _authorization_of(self, reference: str) -> FlavouredResult | None:
        return self._authorizations.get(reference)

    def _method_not_supported(self, kind: MethodType) -> FlavouredResult:
        return self._error(METHOD_NOT_SUPPORTED, f"{self.name} does not take {kind.value} payments")

    def _error(self, error_reason: str, text: str) -> FlavouredResult:
        detail = self._rejection(error_reason, text)
        message = f"{error_reason}: {detail.native_code}: {text}"
        return FlavouredResult(Outcome.ERROR, message=message, native=detail, error_reason=error_reason)

    async def _operate(
        self, downstream_key: str, reference: str, act: Callable[[], FlavouredResult]
    ) -> FlavouredResult:
        started = time.perf_counter()
        await self._wait()
        if (seen := self._ledger.get(downstream_key)) is not None:
            return seen
        if not self.reference_pattern.fullmatch(reference):
            return _timed(self._error(UNKNOWN_REFERENCE, f"no {self.name} payment {reference!r}"), started)
        return self._ledger.remember(downstream_key, _timed(act(), started))

    def _wait(self) -> Awaitable[None]:
        return asyncio.sleep(self.latency_ms / 1000)


def _timed(result: FlavouredResult, started: float) -> FlavouredResult:
    return replace(result, latency_ms=int((time.perf_counter() - started) * 1000))
