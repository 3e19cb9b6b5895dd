"""Payments under real concurrency: many client threads released together by a barrier, each with
its own gRPC channel, against a real server and database.

What must hold whatever the interleaving (README "Payments" and "Idempotency", payment.proto):
- one idempotency key → one payment, and every answer is the first answer, byte for byte;
- a payment is captured once, and a void and a capture never both win;
- concurrent refunds reserve their amount, so together they never exceed what was captured;
- every payment's events are versions 1..n without gaps, and replaying them rebuilds the projection.

Losers of a race may be told ABORTED (IDEMPOTENCY_KEY_IN_USE, PAYMENT_BUSY, …) with RetryInfo; the
client retries those, honouring the delay, as a real client would.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from paysim_proto.v1 import payment_pb2
from sqlalchemy import func, select

from paysim.domain import payment as agg
from paysim.store.schema import payment_events, payments
from tests.support import harness
from tests.support.backends import Backend
from tests.support.client import RichError, Stubs, operation, refund_status, rich_error
from tests.support.factories import MerchantAccount, register_merchant, unique
from tests.support.harness import ServerHandle

pytestmark = pytest.mark.timeout(240)

FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
ABORTED = grpc.StatusCode.ABORTED
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE
REPLAYED_TRAILER = "idempotent-replayed"
CARD = payment_pb2.CardInput(
    number="4242424242424242", exp_month=12, exp_year=datetime.now(UTC).year + 3, cvc="123", holder_name="Race Tester"
)
MANUAL = payment_pb2.CAPTURE_METHOD_MANUAL
AUTOMATIC = payment_pb2.CAPTURE_METHOD_AUTOMATIC


# --- the client side: retries, outcomes, threads released together -----------------------------


@dataclass
class Outcome:
    """What one logical call ended with, after its ABORTED retries."""

    response: Any = None
    trailers: dict[str, str] = field(default_factory=dict)
    error: RichError | None = None
    aborted: list[str] = field(default_factory=list)  # the ABORTED reasons retried on the way
    busy: int = 0  # UNAVAILABLE DATABASE_BUSY answers retried on the way (a loaded machine)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def replayed(self) -> bool:
        return self.trailers.get(REPLAYED_TRAILER) == "true"


def call_retrying(
    method: Any, request: Any, *, metadata: Sequence[tuple[str, str]] = (), deadline_seconds: float = 30.0
) -> Outcome:
    """Call ``method``; on ABORTED wait as RetryInfo says (plus jitter) and try again, within a deadline.
    So too on UNAVAILABLE DATABASE_BUSY, as the README tells clients: on a slow machine two hundred
    calls released together can outwait the pool's timeout, which says nothing about the races.

    ABORTED without RetryInfo is a server bug (README, "Errors") and is returned, not retried.
    """
    aborted: list[str] = []
    busy = 0
    give_up = time.monotonic() + deadline_seconds
    for _ in range(500):
        try:
            response, call = method.with_call(request, metadata=list(metadata), timeout=30)
        except grpc.RpcError as error:
            rich = rich_error(error)
            trailers = {k: v for k, v in (error.trailing_metadata() or ()) if isinstance(v, str)}  # type: ignore[attr-defined]
            retried = rich.code is ABORTED or (rich.code is UNAVAILABLE and rich.reason == "DATABASE_BUSY")
            if retried and rich.retry_delay_seconds is not None and time.monotonic() < give_up:
                if rich.code is ABORTED:
                    aborted.append(rich.reason)
                else:
                    busy += 1
                time.sleep(rich.retry_delay_seconds * (1 + random.random()))
                continue
            return Outcome(error=rich, trailers=trailers, aborted=aborted, busy=busy)
        trailers = {k: v for k, v in (call.trailing_metadata() or ()) if isinstance(v, str)}
        return Outcome(response=response, trailers=trailers, aborted=aborted, busy=busy)
    raise AssertionError("still ABORTED after 500 attempts")


class Channels:
    """Connected channels, one per worker thread, so every call really travels its own connection."""

    def __init__(self, server: ServerHandle, count: int) -> None:
        self._channels = [grpc.insecure_channel(server.target) for _ in range(count)]
        for channel in self._channels:
            grpc.channel_ready_future(channel).result(timeout=10)

    def stubs(self, index: int, credential: str) -> Stubs:
        return Stubs(self._channels[index % len(self._channels)], credential)

    def close(self) -> None:
        for channel in self._channels:
            channel.close()


POOL_SIZE = 8  # + overflow: at most 12 database connections, whatever the concurrency


@pytest.fixture(scope="module")
def server(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    """This module's own server, with a small connection pool.

    Races must be decided by the database's locks and the payment rules, not by how many free
    connection slots a shared PostgreSQL happens to have: with 50-200 calls in flight a pool
    sized for them could be refused by the server (max_connections) and answer UNAVAILABLE. A
    small pool makes the calls queue for connections instead, which is a race of its own.
    """
    handle = ServerHandle(harness.test_settings(backend, tmp_path_factory.mktemp("races"), db_pool_size=POOL_SIZE))
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def channels(server: ServerHandle) -> Iterator[Channels]:
    pool = Channels(server, 100)
    yield pool
    pool.close()


def summary(outcomes: Sequence[Outcome]) -> Counter[str]:
    """How a batch ended, for failure messages: "ok", or the error code and reason."""
    return Counter("ok" if o.error is None else f"{o.error.code.name} {o.error.reason}" for o in outcomes)


def fire_together(channels: Channels, credential: str, calls: Sequence[Callable[[Stubs], Outcome]]) -> list[Outcome]:
    """Run every call on its own thread; all wait at one barrier and are released at once."""
    barrier = threading.Barrier(len(calls), timeout=30)

    def run(index: int) -> Outcome:
        stubs = channels.stubs(index, credential)
        barrier.wait()
        return calls[index](stubs)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, range(len(calls))))


# --- fixtures and checks ---------------------------------------------------------------------------


@dataclass
class Touched:
    """The merchants and payments this module created, for the final replay sweep."""

    merchants: list[MerchantAccount] = field(default_factory=list)
    payment_ids: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def touched(server: ServerHandle) -> Touched:
    """One per server (backend): each backend's sweep checks its own payments."""
    return Touched()


@pytest.fixture
def merchant(server: ServerHandle, touched: Touched) -> MerchantAccount:
    account = register_merchant(server.stubs())
    touched.merchants.append(account)
    return account


def create_payment(stubs: Stubs, amount: int, capture_method: int = MANUAL) -> payment_pb2.Payment:
    reply = stubs.payments.CreatePayment(
        payment_pb2.CreatePaymentRequest(
            amount_minor=amount, currency_code="USD", card=CARD, capture_method=capture_method
        )
    )
    payment: payment_pb2.Payment = reply.payment
    expected = (
        payment_pb2.PAYMENT_STATUS_AUTHORIZED if capture_method == MANUAL else payment_pb2.PAYMENT_STATUS_CAPTURED
    )
    assert payment.status == expected
    return payment


def get_payment(stubs: Stubs, payment_id: str) -> payment_pb2.Payment:
    payment: payment_pb2.Payment = stubs.payments.GetPayment(
        payment_pb2.GetPaymentRequest(payment_id=payment_id)
    ).payment
    return payment


async def _history(server: ServerHandle, payment_id: str) -> tuple[list[Any], agg.PaymentState | None]:
    async with server.app.unit_of_work() as uow:
        events = await uow.payments.events(payment_id)
        projection = await uow.payments.get(payment_id)
    return events, projection


async def _snapshot(server: ServerHandle, payment_id: str) -> agg.PaymentState | None:
    async with server.app.unit_of_work() as uow:
        return await uow.payments.snapshot(payment_id)


def assert_replay_matches_projection(server: ServerHandle, payment_ids: Sequence[str] | set[str]) -> None:
    """Versions 1..n without gaps, sequences increasing with them, and replay == projection."""
    for payment_id in sorted(payment_ids):
        events, projection = server.run(_history(server, payment_id))
        assert projection is not None, payment_id
        versions = [e.version for e in events]
        assert versions == list(range(1, len(events) + 1)), (payment_id, versions)
        sequences = [e.sequence for e in events]
        assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences), (payment_id, sequences)
        replayed = agg.replay(payment_id, [e.as_domain() for e in events])
        assert replayed == projection, payment_id
        assert projection.version == len(events)
        assert projection.pending_operation == "" and projection.pending_refund_amount == 0, payment_id
        snapshot = server.run(_snapshot(server, payment_id))
        if snapshot is not None:  # a snapshot is the replay of the events up to its version
            assert snapshot == agg.replay(payment_id, [e.as_domain() for e in events[: snapshot.version]])
            assert agg.replay(payment_id, [e.as_domain() for e in events[snapshot.version :]], start=snapshot) == (
                projection
            )


async def _payment_count(server: ServerHandle, merchant_id: str) -> int:
    async with server.app.engine.connect() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(payments).where(payments.c.merchant_id == merchant_id)
        )
        events = await conn.scalar(
            select(func.count(func.distinct(payment_events.c.aggregate_id))).where(
                payment_events.c.merchant_id == merchant_id
            )
        )
    assert count == events, "every event stream has a projection row and the other way round"
    return int(count or 0)


def list_all_payments(stubs: Stubs) -> list[payment_pb2.Payment]:
    found: list[payment_pb2.Payment] = []
    token = ""
    while True:
        page = stubs.payments.ListPayments(payment_pb2.ListPaymentsRequest(page_size=500, page_token=token))
        found.extend(page.payments)
        token = page.next_page_token
        if not token:
            return found


# --- (a) one idempotency key, fifty identical creates ---------------------------------------------


def test_concurrent_creates_with_one_idempotency_key_make_one_payment(
    server: ServerHandle, channels: Channels, merchant: MerchantAccount, touched: Touched
) -> None:
    key = unique("race-create")
    request = payment_pb2.CreatePaymentRequest(
        amount_minor=4_321, currency_code="EUR", card=CARD, description="one of fifty", metadata={"n": "1"}
    )

    def create(stubs: Stubs) -> Outcome:
        return call_retrying(stubs.payments.CreatePayment, request, metadata=[("idempotency-key", key)])

    outcomes = fire_together(channels, merchant.api_key, [create] * 50)

    errors = [o.error for o in outcomes if o.error is not None]
    assert errors == [], errors
    assert {r for o in outcomes for r in o.aborted} <= {"IDEMPOTENCY_KEY_IN_USE"}
    bodies = {o.response.SerializeToString(deterministic=True) for o in outcomes}
    assert len(bodies) == 1, "every answer must be the first answer, byte for byte"
    assert sum(not o.replayed for o in outcomes) == 1, "exactly one request executed; the rest are replays"
    payment = outcomes[0].response.payment
    assert payment.status == payment_pb2.PAYMENT_STATUS_CAPTURED and payment.amount_minor == 4_321
    touched.payment_ids.add(payment.id)

    listed = list_all_payments(server.stubs(merchant.api_key))
    assert [p.id for p in listed] == [payment.id]
    assert listed[0].SerializeToString(deterministic=True) == payment.SerializeToString(deterministic=True)
    assert server.run(_payment_count(server, merchant.merchant_id)) == 1

    # A later retry with the same key is still the same answer.
    again = call_retrying(
        server.stubs(merchant.api_key).payments.CreatePayment, request, metadata=[("idempotency-key", key)]
    )
    assert again.ok and again.replayed
    assert again.response.SerializeToString(deterministic=True) in bodies
    assert_replay_matches_projection(server, [payment.id])


# --- (b) a hundred full captures of one manual payment --------------------------------------------


def test_concurrent_full_captures_capture_once(
    server: ServerHandle, channels: Channels, merchant: MerchantAccount, touched: Touched
) -> None:
    stubs = server.stubs(merchant.api_key)
    payment = create_payment(stubs, 25_000)
    touched.payment_ids.add(payment.id)
    request = payment_pb2.CapturePaymentRequest(payment_id=payment.id, amount_minor=0)

    def capture(s: Stubs) -> Outcome:
        return call_retrying(s.payments.CapturePayment, request)

    outcomes = fire_together(channels, merchant.api_key, [capture] * 100)

    winners = [o for o in outcomes if o.ok]
    losers = [o for o in outcomes if not o.ok]
    assert len(winners) == 1, summary(outcomes)
    assert winners[0].response.payment.captured_amount_minor == 25_000
    assert len(losers) == 99
    for loser in losers:
        assert loser.error is not None
        assert (loser.error.code, loser.error.reason) == (FAILED_PRECONDITION, "PAYMENT_NOT_CAPTURABLE"), loser.error
        assert set(loser.aborted) <= {"PAYMENT_BUSY", "CONCURRENT_MODIFICATION"}, loser.aborted

    final = get_payment(stubs, payment.id)
    assert final.status == payment_pb2.PAYMENT_STATUS_CAPTURED
    assert final.captured_amount_minor == final.authorized_amount_minor == 25_000
    assert [operation(a) for a in final.attempts] == ["authorize", "capture"]
    assert final.net_amount_minor == final.captured_amount_minor - final.fee_amount_minor
    events, _ = server.run(_history(server, payment.id))
    assert Counter(e.type for e in events) == Counter(
        {"payment.created": 1, "payment.authorized": 1, "payment.capture_requested": 1, "payment.captured": 1}
    )
    assert_replay_matches_projection(server, [payment.id])


# --- (c) fifty refunds of 300 against 10,000 captured ---------------------------------------------


def test_concurrent_partial_refunds_never_exceed_the_capture(
    server: ServerHandle, channels: Channels, merchant: MerchantAccount, touched: Touched
) -> None:
    stubs = server.stubs(merchant.api_key)
    payment = create_payment(stubs, 10_000, AUTOMATIC)
    touched.payment_ids.add(payment.id)

    def refund(s: Stubs) -> Outcome:
        request = payment_pb2.RefundPaymentRequest(payment_id=payment.id, amount_minor=300, reason="race")
        return call_retrying(s.payments.RefundPayment, request)

    outcomes = fire_together(channels, merchant.api_key, [refund] * 50)

    winners = [o for o in outcomes if o.ok]
    losers = [o for o in outcomes if not o.ok]
    assert len(winners) == 33, summary(outcomes)
    assert len(losers) == 17
    for loser in losers:
        assert loser.error is not None
        assert (loser.error.code, loser.error.reason) == (FAILED_PRECONDITION, "AMOUNT_EXCEEDS_REFUNDABLE"), loser.error
    refund_ids = {o.response.refund.id for o in winners}
    assert len(refund_ids) == 33
    assert all(
        refund_status(o.response.refund) == "succeeded" and o.response.refund.amount_minor == 300 for o in winners
    )

    final = get_payment(stubs, payment.id)
    assert final.refunded_amount_minor == 9_900
    assert final.status == payment_pb2.PAYMENT_STATUS_PARTIALLY_REFUNDED
    assert {r.id for r in final.refunds} == refund_ids
    assert final.net_amount_minor == final.captured_amount_minor - final.fee_amount_minor - final.refunded_amount_minor
    listed = stubs.payments.ListRefunds(payment_pb2.ListRefundsRequest(payment_id=payment.id)).refunds
    assert sum(r.amount_minor for r in listed if refund_status(r) == "succeeded") == 9_900

    # What is left is still refundable, exactly.
    rest = stubs.payments.RefundPayment(payment_pb2.RefundPaymentRequest(payment_id=payment.id, amount_minor=0))
    assert rest.refund.amount_minor == 100 and rest.payment.status == payment_pb2.PAYMENT_STATUS_REFUNDED
    assert_replay_matches_projection(server, [payment.id])


# --- (d) void against capture, two hundred times --------------------------------------------------


def test_void_and_capture_races_have_exactly_one_winner(
    server: ServerHandle, channels: Channels, merchant: MerchantAccount, touched: Touched
) -> None:
    def create_manual(s: Stubs, amount: int) -> Outcome:
        request = payment_pb2.CreatePaymentRequest(amount_minor=amount, card=CARD, capture_method=MANUAL)
        # Keyed, so that a create retried after DATABASE_BUSY can never make a second payment.
        return call_retrying(s.payments.CreatePayment, request, metadata=[("idempotency-key", unique("race-void"))])

    # Created 25 at a time: the races are the subject, not how many creates SQLite's pool can
    # queue for within its timeout on a slow machine.
    created: list[Outcome] = []
    for start in range(0, 200, 25):
        calls = [functools.partial(create_manual, amount=1_000 + i) for i in range(start, start + 25)]
        created += fire_together(channels, merchant.api_key, calls)
    assert all(o.ok for o in created), summary(created)
    payment_ids = [o.response.payment.id for o in created]
    assert len(set(payment_ids)) == 200
    touched.payment_ids.update(payment_ids)

    def void(s: Stubs, payment_id: str) -> Outcome:
        return call_retrying(s.payments.VoidPayment, payment_pb2.VoidPaymentRequest(payment_id=payment_id))

    def capture(s: Stubs, payment_id: str) -> Outcome:
        return call_retrying(s.payments.CapturePayment, payment_pb2.CapturePaymentRequest(payment_id=payment_id))

    winners: dict[str, str] = {}
    batch = 25  # payments per barrier: 50 calls released together, several payments contended at once
    for start in range(0, len(payment_ids), batch):
        group = payment_ids[start : start + batch]
        calls: list[Callable[[Stubs], Outcome]] = []
        for pid in group:
            calls.append(functools.partial(void, payment_id=pid))
            calls.append(functools.partial(capture, payment_id=pid))
        outcomes = fire_together(channels, merchant.api_key, calls)
        for i, pid in enumerate(group):
            voided, captured = outcomes[2 * i], outcomes[2 * i + 1]
            assert voided.ok != captured.ok, f"{pid}: void ok={voided.ok}, capture ok={captured.ok}"
            loser = captured if voided.ok else voided
            assert loser.error is not None
            expected = "PAYMENT_NOT_CAPTURABLE" if voided.ok else "PAYMENT_NOT_VOIDABLE"
            assert (loser.error.code, loser.error.reason) == (FAILED_PRECONDITION, expected), (pid, loser.error)
            assert set(loser.aborted) <= {"PAYMENT_BUSY", "CONCURRENT_MODIFICATION"}, loser.aborted
            winners[pid] = "void" if voided.ok else "capture"

    stubs = server.stubs(merchant.api_key)
    by_id = {p.id: p for p in list_all_payments(stubs)}
    for pid, winner in winners.items():
        final = by_id[pid]
        if winner == "void":
            assert final.status == payment_pb2.PAYMENT_STATUS_VOIDED, pid
            assert final.captured_amount_minor == 0 and final.fee_amount_minor == 0
        else:
            assert final.status == payment_pb2.PAYMENT_STATUS_CAPTURED, pid
            assert final.captured_amount_minor == final.authorized_amount_minor == final.amount_minor
    assert_replay_matches_projection(server, payment_ids)


# --- keyed operations on one payment, all with the same key --------------------------------------


@pytest.mark.parametrize("operation", ["capture", "refund"])
def test_concurrent_keyed_operations_with_one_key_run_once(
    server: ServerHandle, channels: Channels, merchant: MerchantAccount, touched: Touched, operation: str
) -> None:
    stubs = server.stubs(merchant.api_key)
    payment = create_payment(stubs, 8_000, MANUAL if operation == "capture" else AUTOMATIC)
    touched.payment_ids.add(payment.id)
    key = unique(f"race-{operation}")
    if operation == "capture":
        method, request = "CapturePayment", payment_pb2.CapturePaymentRequest(payment_id=payment.id, amount_minor=6_000)
    else:
        method, request = "RefundPayment", payment_pb2.RefundPaymentRequest(payment_id=payment.id, amount_minor=2_500)

    def send(s: Stubs) -> Outcome:
        return call_retrying(getattr(s.payments, method), request, metadata=[("idempotency-key", key)])

    outcomes = fire_together(channels, merchant.api_key, [send] * 40)

    assert all(o.ok for o in outcomes), summary(outcomes)
    assert {r for o in outcomes for r in o.aborted} <= {"IDEMPOTENCY_KEY_IN_USE"}
    assert len({o.response.SerializeToString(deterministic=True) for o in outcomes}) == 1
    assert sum(not o.replayed for o in outcomes) == 1
    final = get_payment(stubs, payment.id)
    if operation == "capture":
        assert (final.status, final.captured_amount_minor) == (payment_pb2.PAYMENT_STATUS_CAPTURED, 6_000)
    else:
        assert [r.amount_minor for r in final.refunds] == [2_500]
        assert final.refunded_amount_minor == 2_500
    assert_replay_matches_projection(server, [payment.id])


# --- (e) the whole module's payments, replayed ---------------------------------------------------


def test_every_touched_payment_replays_to_its_projection(server: ServerHandle, touched: Touched) -> None:
    async def merchant_payment_ids() -> set[str]:
        async with server.app.engine.connect() as conn:
            rows = await conn.execute(
                select(payments.c.id).where(payments.c.merchant_id.in_([m.merchant_id for m in touched.merchants]))
            )
            return set(rows.scalars())

    if not touched.merchants:
        pytest.skip("run together with the race tests above: it checks what they touched")
    in_db = server.run(merchant_payment_ids())
    assert touched.payment_ids <= in_db
    assert in_db == touched.payment_ids, "a race created a payment nobody was told about"
    assert_replay_matches_projection(server, in_db)
