"""In-memory adapters of the store ports the payment use cases run on (server/paysim/store/ports.py),
a clock the test moves by hand, and gateways that answer from a script; for fast tests of the
service layer without a server or a database.

The fakes keep the real adapters' promises, which tests/store/test_repository_contract.py checks
against them as one more adapter: a transaction sees its own writes and nobody else's until it
commits; a unit of work left without a commit leaves nothing behind; a payment saved from a stale
version is ``Aborted`` (CONCURRENT_MODIFICATION), at the save or at the latest at the commit; an
idempotency key is claimed by exactly one claimant and is free again once it expired (the claim
logic is the real ``KeyClaims``); a payment's events are appended through the real
``PaymentEventStore.save`` (version numbering, snapshot cadence), and its projection goes through the
same JSON round trip as the SQL adapters'.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Generic, TypeVar

from paysim.domain import payment
from paysim.domain.circuit_breaker import BreakerState
from paysim.domain.gateway_faults import PLATFORM_SCOPE, GatewayFaults
from paysim.domain.models import Customer, Merchant
from paysim.domain.payment_methods import MethodType
from paysim.domain.test_clocks import TestClock
from paysim.gateways.base import AuthorizationRequest, GatewayResult, Outcome
from paysim.store.repositories.circuit_breakers import StoredBreaker, breaker_conflict
from paysim.store.repositories.idempotency import CLAIM_COLUMNS, COMPLETED, IN_FLIGHT, KeyClaims, StoredKey
from paysim.store.repositories.payments import (
    PaymentEventStore,
    StoredEvent,
    concurrency_conflict,
    dumps,
)
from paysim.store.repositories.routing_state import RoutingState
from paysim.store.repositories.three_ds_policies import StoredPolicy

K = TypeVar("K")
V = TypeVar("V")


class FixedClock:
    """A clock that stands still until the test moves it."""

    def __init__(self, now: datetime = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# --- the database --------------------------------------------------------------------------------


class Table(Generic[K, V]):
    """The committed rows of one table, by primary key."""

    def __init__(self) -> None:
        self.rows: dict[K, V] = {}


class Draft(Generic[K, V]):
    """One transaction's view of a table: its own writes over the committed rows."""

    def __init__(self, table: Table[K, V]) -> None:
        self._table = table
        self._writes: dict[K, V | None] = {}  # None: deleted

    def get(self, key: K) -> V | None:
        return self._writes[key] if key in self._writes else self._table.rows.get(key)

    def put(self, key: K, value: V) -> None:
        self._writes[key] = value

    def delete(self, key: K) -> None:
        self._writes[key] = None

    def items(self) -> Iterator[tuple[K, V]]:
        for key in {**self._table.rows, **self._writes}:
            value = self.get(key)
            if value is not None:
                yield key, value

    def apply(self) -> None:
        """Commit the writes; the transaction goes on from the committed rows."""
        for key, value in self._writes.items():
            if value is None:
                self._table.rows.pop(key, None)
            else:
                self._table.rows[key] = value
        self._writes.clear()


@dataclass
class InMemoryDatabase:
    """Every table the payment use cases touch; shared by the units of work of one test."""

    payments: Table[str, str] = field(default_factory=Table)  # the projection, as the SQL adapters' JSON
    events: Table[str, tuple[StoredEvent, ...]] = field(default_factory=Table)
    snapshots: Table[str, str] = field(default_factory=Table)
    keys: Table[tuple[str, str], StoredKey] = field(default_factory=Table)
    merchants: Table[str, Merchant] = field(default_factory=Table)
    customers: Table[str, Customer] = field(default_factory=Table)
    breakers: Table[tuple[str, str], StoredBreaker] = field(default_factory=Table)
    faults: Table[tuple[str, str], GatewayFaults] = field(default_factory=Table)
    three_ds_policies: Table[str, StoredPolicy] = field(default_factory=Table)
    test_clocks: Table[str, TestClock] = field(default_factory=Table)
    sequence: int = 0
    commits: int = 0

    def payment(self, payment_id: str) -> payment.PaymentState | None:
        """A committed payment, for a test's assertions."""
        raw = self.payments.rows.get(payment_id)
        return _loads(raw) if raw is not None else None


def _loads(raw: str) -> payment.PaymentState:
    return payment.from_dict(json.loads(raw))


# --- the repositories ----------------------------------------------------------------------------


class FakePayments(PaymentEventStore):
    def __init__(
        self,
        db: InMemoryDatabase,
        projections: Draft[str, str],
        events: Draft[str, tuple[StoredEvent, ...]],
        snapshots: Draft[str, str],
    ) -> None:
        self._db = db
        self._projections = projections
        self._events = events
        self._snapshots = snapshots
        # The version each written payment had when this transaction read it (0: new), checked again
        # at the commit: a writer that committed meanwhile wins.
        self.expected_versions: dict[str, int] = {}
        self.outbox_rows = 0
        self.wrote_events = False
        self.dispute_rows: dict[str, dict[str, Any]] = {}

    async def get(self, payment_id: str, *, for_update: bool = False) -> payment.PaymentState | None:
        raw = self._projections.get(payment_id)
        return _loads(raw) if raw is not None else None

    async def _append(
        self,
        before: payment.PaymentState | None,
        after: payment.PaymentState,
        drafts: list[StoredEvent],
        rows: list[dict[str, Any]],
    ) -> list[StoredEvent]:
        current = await self.get(after.id)
        expected = 0 if before is None else before.version
        if (current.version if current is not None else 0) != expected:
            raise concurrency_conflict(after.id)
        self.expected_versions.setdefault(after.id, expected)
        self._projections.put(after.id, dumps(payment.to_dict(after)))
        stored = []
        for draft in drafts:
            self._db.sequence += 1
            stored.append(replace(draft, sequence=self._db.sequence))
        self._events.put(after.id, (*(self._events.get(after.id) or ()), *stored))
        return stored

    async def _snapshot(self, state: payment.PaymentState) -> None:
        self._snapshots.put(state.id, dumps(payment.to_dict(state)))

    async def _project_dispute(self, row: dict[str, Any]) -> None:
        self.dispute_rows[row["id"]] = row

    async def snapshot(self, payment_id: str) -> payment.PaymentState | None:
        raw = self._snapshots.get(payment_id)
        return _loads(raw) if raw is not None else None

    async def events(self, payment_id: str, *, after_version: int = 0, limit: int | None = None) -> list[StoredEvent]:
        found = [e for e in self._events.get(payment_id) or () if e.version > after_version]
        return found[:limit] if limit is not None else found

    def _states(self) -> list[payment.PaymentState]:
        return sorted((_loads(raw) for _, raw in self._projections.items()), key=lambda s: s.updated_at)

    async def stuck(self, updated_before: datetime, limit: int) -> list[str]:
        states = self._states()
        return [s.id for s in states if s.in_progress and s.updated_at < updated_before and not s.test_clock_id][:limit]

    async def in_progress_on_clocks(self, limit: int) -> list[tuple[str, datetime, datetime]]:
        found = []
        for s in self._states():
            clock = self._db.test_clocks.rows.get(s.test_clock_id) if s.test_clock_id else None
            if s.in_progress and clock is not None:
                found.append((s.id, s.updated_at, clock.frozen_time))
        return found[:limit]

    async def awaiting_action(self, since: datetime, limit: int) -> list[str]:
        waiting = payment.Status.REQUIRES_ACTION
        return [s.id for s in self._states() if s.status is waiting and s.updated_at <= since][:limit]

    def check_versions(self) -> None:
        """The commit's half of the version guard: nobody committed these payments meanwhile."""
        for payment_id, expected in self.expected_versions.items():
            committed = self._db.payment(payment_id)
            if (committed.version if committed is not None else 0) != expected:
                raise concurrency_conflict(payment_id)
        self.expected_versions.clear()


class FakeIdempotency(KeyClaims):
    def __init__(self, keys: Draft[tuple[str, str], StoredKey], clocks: Draft[str, TestClock]) -> None:
        self._keys = keys
        self._clocks = clocks

    async def _insert_if_absent(self, row: tuple[Any, ...]) -> bool:
        values = dict(zip(CLAIM_COLUMNS, row, strict=True))
        if self._keys.get((values["owner"], values["key"])) is not None:
            return False
        stored = StoredKey(
            values["method"],
            values["fingerprint"],
            values["state"],
            values["payment_id"],
            values["recovery_point"],
            None,
            None,
            values["created_at"],
            values["updated_at"],
            values["expires_at"],
        )
        self._keys.put((values["owner"], values["key"]), stored)
        return True

    async def _delete(self, owner: str, key: str) -> None:
        self._keys.delete((owner, key))

    async def get(self, owner: str, key: str) -> StoredKey | None:
        found = self._keys.get((owner, key))
        if found is None or found.test_clock_id is None:
            return found
        clock = self._clocks.get(found.test_clock_id)  # the clock's time as it is now, as a join reads it
        return replace(found, clock_time=clock.frozen_time if clock is not None else None)

    async def on_clock(self, owner: str, key: str, test_clock_id: str, expires_at: datetime) -> None:
        found = self._keys.get((owner, key))
        if found is not None:
            self._keys.put((owner, key), replace(found, test_clock_id=test_clock_id, expires_at=expires_at))

    async def reserve(
        self,
        owner: str,
        key: str,
        method: str,
        fingerprint: str,
        now: datetime,
        expires_at: datetime,
        *,
        payment_id: str = "",
    ) -> StoredKey | None:
        return await self.claim(owner, key, method, fingerprint, now, expires_at, payment_id=payment_id)

    async def complete(self, owner: str, key: str, code: int, blob: bytes, now: datetime) -> None:
        found = self._keys.get((owner, key))
        if found is not None:
            done = replace(found, state=COMPLETED, response_code=code, response_blob=blob, updated_at=now)
            self._keys.put((owner, key), done)

    async def release(self, owner: str, key: str) -> None:
        found = self._keys.get((owner, key))
        if found is not None and found.state == IN_FLIGHT:
            self._keys.delete((owner, key))

    async def in_flight_for_payment(self, payment_id: str) -> list[tuple[str, str, str]]:
        return [
            (owner, key, stored.recovery_point or "")
            for (owner, key), stored in self._keys.items()
            if stored.payment_id == payment_id and stored.state == IN_FLIGHT
        ]

    async def prune(self, now: datetime) -> int:
        expired = [k for k, stored in self._keys.items() if stored.expires_at <= now]
        for key in expired:
            self._keys.delete(key)
        return len(expired)


class FakeMerchants:
    def __init__(self, merchants: Draft[str, Merchant]) -> None:
        self._merchants = merchants

    async def get(self, merchant_id: str) -> Merchant | None:
        return self._merchants.get(merchant_id)

    async def add(self, merchant: Merchant) -> None:
        self._merchants.put(merchant.id, merchant)


class FakeCustomers:
    def __init__(self, customers: Draft[str, Customer]) -> None:
        self._customers = customers

    async def get(self, customer_id: str) -> Customer | None:
        return self._customers.get(customer_id)

    async def add(self, customer: Customer) -> None:
        self._customers.put(customer.id, customer)


class FakeTestClocks:
    __test__ = False  # a fake, not a pytest test class

    def __init__(self, clocks: Draft[str, TestClock]) -> None:
        self._clocks = clocks

    async def get(self, clock_id: str, *, for_update: bool = False, for_share: bool = False) -> TestClock | None:
        return self._clocks.get(clock_id)

    async def add(self, clock: TestClock) -> None:
        self._clocks.put(clock.id, clock)

    async def save(self, clock: TestClock) -> None:
        self._clocks.put(clock.id, clock)


class FakeCircuitBreakers:
    def __init__(self, breakers: Draft[tuple[str, str], StoredBreaker]) -> None:
        self._breakers = breakers

    async def get(self, scope: str, gateway: str) -> StoredBreaker | None:
        return self._breakers.get((scope, gateway))

    async def get_for_update(self, scope: str, gateway: str) -> StoredBreaker | None:
        return self._breakers.get((scope, gateway))

    async def save(self, scope: str, gateway: str, state: BreakerState, expected_version: int, *, now: datetime) -> int:
        found = self._breakers.get((scope, gateway))
        if (found.version if found is not None else 0) != expected_version:
            raise breaker_conflict(scope, gateway)
        self._breakers.put((scope, gateway), StoredBreaker(scope, gateway, state, expected_version + 1, now))
        return expected_version + 1

    async def list(self, scope: str) -> builtins.list[StoredBreaker]:
        return sorted((b for (s, _), b in self._breakers.items() if s == scope), key=lambda b: b.gateway)


class FakeGatewayFaults:
    def __init__(self, faults: Draft[tuple[str, str], GatewayFaults]) -> None:
        self._faults = faults

    async def for_scopes(self, scopes: Sequence[str]) -> builtins.list[GatewayFaults]:
        return sorted((f for (s, _), f in self._faults.items() if s in scopes), key=lambda f: (f.scope, f.gateway))

    async def get_for_update(self, scope: str, gateway: str) -> GatewayFaults | None:
        return self._faults.get((scope, gateway))

    async def save(self, faults: GatewayFaults, now: datetime) -> None:
        if faults.is_empty(now):
            self._faults.delete((faults.scope, faults.gateway))
        else:
            self._faults.put((faults.scope, faults.gateway), replace(faults, updated_at=now))


class FakeRouting:
    def __init__(self, breakers: FakeCircuitBreakers, faults: FakeGatewayFaults) -> None:
        self._breakers = breakers
        self._faults = faults

    async def load(self, merchant_id: str) -> RoutingState:
        breakers = await self._breakers.list(merchant_id)
        faults = await self._faults.for_scopes([merchant_id, PLATFORM_SCOPE])
        return RoutingState({b.gateway: b for b in breakers}, faults)


class FakeThreeDSPolicies:
    def __init__(self, policies: Draft[str, StoredPolicy]) -> None:
        self._policies = policies

    async def get(self, merchant_id: str) -> StoredPolicy | None:
        return self._policies.get(merchant_id)


# --- the unit of work ----------------------------------------------------------------------------


class FakeUnitOfWork:
    """One transaction over the in-memory database: the ``PaymentStore`` port, and the few other
    repositories the payment use cases reach through the full unit of work (breakers, faults,
    3-D Secure policies)."""

    def __init__(self, db: InMemoryDatabase) -> None:
        self._db = db
        self._drafts: list[Draft[Any, Any]] = []
        self.payments = FakePayments(db, self._draft(db.payments), self._draft(db.events), self._draft(db.snapshots))
        clocks = self._draft(db.test_clocks)
        self.idempotency = FakeIdempotency(self._draft(db.keys), clocks)
        self.merchants = FakeMerchants(self._draft(db.merchants))
        self.customers = FakeCustomers(self._draft(db.customers))
        self.circuit_breakers = FakeCircuitBreakers(self._draft(db.breakers))
        self.gateway_faults = FakeGatewayFaults(self._draft(db.faults))
        self.routing = FakeRouting(self.circuit_breakers, self.gateway_faults)
        self.three_ds_policies = FakeThreeDSPolicies(self._draft(db.three_ds_policies))
        self.test_clocks = FakeTestClocks(clocks)

    def _draft(self, table: Table[K, V]) -> Draft[K, V]:
        draft = Draft(table)
        self._drafts.append(draft)
        return draft

    async def commit(self) -> None:
        self.payments.check_versions()  # first: a payment that moved on aborts the whole transaction
        for draft in self._drafts:
            draft.apply()
        self._db.commits += 1

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Whatever was not committed is forgotten, like a rollback."""


def unit_of_work_factory(db: InMemoryDatabase) -> Callable[[], FakeUnitOfWork]:
    return lambda: FakeUnitOfWork(db)


# --- gateways ------------------------------------------------------------------------------------


Answer = GatewayResult | Exception


class ProcessCrashed(BaseException):
    """The process died during a gateway call: nothing after the call runs (not an ``Exception``,
    which the router would record as a gateway error)."""


@dataclass
class ScriptedGateway:
    """A gateway that answers authorizations from a script (then approves), approves captures, voids
    and refunds unless scripted otherwise, and remembers every answer by downstream key like a real
    processor. ``crash`` makes the process die during the next call: "before" the gateway saw it, or
    "after" it acted (the answer is lost on the way back)."""

    name: str
    authorizations: list[Answer] = field(default_factory=list)
    operations: list[Answer] = field(default_factory=list)
    methods: frozenset[MethodType] = frozenset({MethodType.CARD})
    crash: str = ""  # "", "before" or "after"
    # Run during the next call, before it answers: another request racing this one.
    meanwhile: Callable[[], Awaitable[object]] | None = None
    calls: list[str] = field(default_factory=list)
    ledger: dict[str, GatewayResult] = field(default_factory=dict)

    def supports(self, method: MethodType) -> bool:
        return method in self.methods

    async def authorize(self, request: AuthorizationRequest) -> GatewayResult:
        return self._answer(request.downstream_key, self.authorizations)

    async def capture(self, downstream_key: str, reference: str, amount: int) -> GatewayResult:
        return await self._racing(downstream_key, self.operations)

    async def void(self, downstream_key: str, reference: str) -> GatewayResult:
        return await self._racing(downstream_key, self.operations)

    async def refund(self, downstream_key: str, reference: str, amount: int) -> GatewayResult:
        return await self._racing(downstream_key, self.operations)

    async def _racing(self, downstream_key: str, script: list[Answer]) -> GatewayResult:
        if self.meanwhile is not None:
            racer, self.meanwhile = self.meanwhile, None
            await racer()
        return self._answer(downstream_key, script)

    def _answer(self, downstream_key: str, script: list[Answer]) -> GatewayResult:
        self.calls.append(downstream_key)
        if self.crash == "before":
            self.crash = ""
            raise ProcessCrashed(downstream_key)
        if downstream_key in self.ledger:
            return self.ledger[downstream_key]
        answer = script.pop(0) if script else approved(f"{self.name}_ref")
        if isinstance(answer, Exception):
            raise answer
        if answer.outcome is not Outcome.ERROR:
            self.ledger[downstream_key] = answer
        if self.crash == "after":
            self.crash = ""
            raise ProcessCrashed(downstream_key)
        return answer

    async def status(self, downstream_key: str) -> GatewayResult | None:
        return self.ledger.get(downstream_key)

    async def healthy(self) -> bool:
        return True


def approved(reference: str = "ref_1") -> GatewayResult:
    return GatewayResult(Outcome.APPROVED, reference=reference, message="approved")


def declined(code: str = "insufficient_funds") -> GatewayResult:
    return GatewayResult(Outcome.DECLINED, reference="ref_declined", decline_code=code, message=code)


def failed(message: str = "gateway_error: upstream 503") -> GatewayResult:
    return GatewayResult(Outcome.ERROR, message=message)
