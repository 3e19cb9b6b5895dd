"""Crash recovery between the two transactions of a payment, and the replay check of
``paysim verify`` (projections and snapshots against their events)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from paysim_proto.v1 import payment_pb2 as P
from sqlalchemy import update

from paysim.gateways.base import AuthorizationRequest, GatewayResult
from paysim.gateways.simulator import SimulatorGateway
from paysim.services.verification import verify_all
from paysim.store.schema import payments
from tests.support.backends import Backend
from tests.support.client import Stubs, expect_error
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle

CARD = P.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")


class ProcessDied(BaseException):
    """Stands for the server process dying mid-request: nothing after this point runs."""


class DyingGateway(SimulatorGateway):
    """Processes the authorization (the processor has it on record), then the caller 'dies'
    before it can record the outcome; or dies before the processor ever saw the call.

    It takes a moment to answer, like a processor across a network: a create through it keeps its
    two transactions on every backend (one whose gateway answers at once is a single transaction
    on PostgreSQL, services/payment_at_once.py, and leaves nothing behind when its process dies)."""

    latency_ms = 1

    def __init__(self, *, processor_saw_it: bool) -> None:
        super().__init__()
        self.processor_saw_it = processor_saw_it
        self.armed = True

    async def authorize(self, request: AuthorizationRequest) -> GatewayResult:
        await asyncio.sleep(self.latency_ms / 1000)
        if not self.armed:
            return await super().authorize(request)
        self.armed = False
        if self.processor_saw_it:
            await super().authorize(request)
        raise ProcessDied


def _install(server: ServerHandle, gateway: SimulatorGateway) -> None:
    # The router's simulator gateway is the seam where a crash is injected.
    server.app.router.gateways["simulator"] = gateway


@pytest.mark.parametrize(("saw_it", "expected"), [(True, P.PAYMENT_STATUS_CAPTURED), (False, P.PAYMENT_STATUS_FAILED)])
def test_a_payment_interrupted_after_transaction_one_is_finished_by_the_sweep(
    make_server: Callable[..., ServerHandle], saw_it: bool, expected: int
) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    _install(server, DyingGateway(processor_saw_it=saw_it))
    key = [("idempotency-key", "crash-1")]
    request = P.CreatePaymentRequest(amount_minor=2_500, currency_code="USD", card=CARD)
    with pytest.raises(grpc.RpcError):  # the 'dead' server never answers: the client gives up
        api.payments.CreatePayment(request, metadata=key, timeout=1)
    stuck = api.payments.ListPayments(P.ListPaymentsRequest()).payments
    assert [p.status for p in stuck] == [P.PAYMENT_STATUS_PROCESSING]
    # While the first request might still be running, a retry is told to wait.
    err = expect_error(api.payments.CreatePayment, request, metadata=key)
    assert (err.code, err.reason) == (grpc.StatusCode.ABORTED, "IDEMPOTENCY_KEY_IN_USE")
    assert server.run(server.app.payments.recover_stuck()) == 0  # too early: not yet considered stuck
    server.clock.advance(timedelta(seconds=31))
    assert server.run(server.app.payments.recover_stuck()) == 1
    finished = api.payments.GetPayment(P.GetPaymentRequest(payment_id=stuck[0].id)).payment
    assert finished.status == expected
    if expected == P.PAYMENT_STATUS_FAILED:
        assert finished.failure_reason == "processing_interrupted"
    # The retry now replays the recovered outcome: still one payment, never a second charge.
    replay, call = api.payments.CreatePayment.with_call(request, metadata=key)
    assert replay.payment.id == finished.id and replay.payment.status == expected
    assert ("idempotent-replayed", "true") in list(call.trailing_metadata())
    assert len(api.payments.ListPayments(P.ListPaymentsRequest()).payments) == 1


class DyingAtOnce(DyingGateway):
    latency_ms = 0


@pytest.mark.parametrize("saw_it", [True, False])
def test_a_process_dying_during_a_create_at_once_leaves_nothing_to_recover(
    make_server: Callable[..., ServerHandle], saw_it: bool
) -> None:
    """Where a create whose gateway answers at once is one transaction (PostgreSQL), its process
    dying during the call commits nothing: no payment, and the key is free for the retry. Where it
    is two (SQLite), the payment waits for the sweep as above."""
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    _install(server, DyingAtOnce(processor_saw_it=saw_it))
    key = [("idempotency-key", "crash-at-once")]
    request = P.CreatePaymentRequest(amount_minor=700, currency_code="USD", card=CARD)
    with pytest.raises(grpc.RpcError):
        api.payments.CreatePayment(request, metadata=key, timeout=1)
    left = api.payments.ListPayments(P.ListPaymentsRequest()).payments
    if not server.app.payments.creates_at_once:
        assert [p.status for p in left] == [P.PAYMENT_STATUS_PROCESSING]
        return
    assert left == []
    retried = api.payments.CreatePayment(request, metadata=key).payment
    assert retried.status == P.PAYMENT_STATUS_CAPTURED
    assert [p.id for p in api.payments.ListPayments(P.ListPaymentsRequest()).payments] == [retried.id]


class CountingGateway(SimulatorGateway):
    def __init__(self) -> None:
        super().__init__()
        self.authorizations = 0

    async def authorize(self, request: AuthorizationRequest) -> GatewayResult:
        self.authorizations += 1
        return await super().authorize(request)


def test_a_replayed_create_never_calls_the_gateway(make_server: Callable[..., ServerHandle]) -> None:
    """Also where a create is carried out at once (PostgreSQL): a key seen before is found before
    the gateway call, not at the commit after it."""
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    counting = CountingGateway()
    _install(server, counting)
    key = [("idempotency-key", "order-7")]
    request = P.CreatePaymentRequest(amount_minor=1_200, currency_code="USD", card=CARD)
    first = api.payments.CreatePayment(request, metadata=key).payment
    replay, call = api.payments.CreatePayment.with_call(request, metadata=key)
    assert replay.payment.id == first.id
    assert ("idempotent-replayed", "true") in list(call.trailing_metadata())
    assert counting.authorizations == 1


def test_a_stale_in_flight_key_is_recovered_by_its_retry(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    _install(server, DyingGateway(processor_saw_it=True))
    key = [("idempotency-key", "crash-2")]
    request = P.CreatePaymentRequest(amount_minor=900, currency_code="USD", card=CARD)
    with pytest.raises(grpc.RpcError):  # the 'dead' server never answers: the client gives up
        api.payments.CreatePayment(request, metadata=key, timeout=1)
    server.clock.advance(timedelta(seconds=31))
    reply = api.payments.CreatePayment(request, metadata=key)  # no sweep ran: the retry recovers
    assert reply.payment.status == P.PAYMENT_STATUS_CAPTURED
    assert len(api.payments.ListPayments(P.ListPaymentsRequest()).payments) == 1


def test_idempotency_keys_expire_after_their_lifetime(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    key = [("idempotency-key", "daily-order")]
    first = api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=100, card=CARD), metadata=key).payment
    server.clock.advance(timedelta(hours=23, minutes=59))
    assert server.run(server.app.payments.prune_idempotency_keys()) == 0
    again = api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=100, card=CARD), metadata=key).payment
    assert again.id == first.id
    server.clock.advance(timedelta(hours=24, minutes=2))
    assert server.run(server.app.payments.prune_idempotency_keys()) == 1
    fresh = api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=100, card=CARD), metadata=key).payment
    assert fresh.id != first.id


def _long_history(api: Stubs, refunds: int) -> str:
    payment = api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=100 * refunds, card=CARD)).payment
    for _ in range(refunds):
        api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=payment.id, amount_minor=100))
    return payment.id


def test_verify_replays_projections_and_snapshots(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    long_id = _long_history(api, 25)  # 3 + 2×25 = 53 events: snapshots at 20, 40
    api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=1_009_995, card=CARD))
    final = api.payments.GetPayment(P.GetPaymentRequest(payment_id=long_id)).payment
    assert final.version == 53 and final.status == P.PAYMENT_STATUS_REFUNDED
    report = server.run(verify_all(server.app.unit_of_work))
    assert report.ok, report.mismatches
    assert report.checked == 2 and report.snapshots_checked == 1

    async def tamper() -> None:
        async with server.app.engine.begin() as conn:
            row = (await conn.execute(payments.select().where(payments.c.id == long_id))).one()
            await conn.execute(
                update(payments)
                .where(payments.c.id == long_id)
                .values(state_json=row.state_json.replace('"refunded_amount":2500', '"refunded_amount":2400'))
            )

    server.run(tamper())
    report = server.run(verify_all(server.app.unit_of_work))
    assert [m.payment_id for m in report.mismatches] == [long_id, long_id]
    assert "refunded_amount" in report.mismatches[0].fields


def test_paysim_verify_command(make_server: Callable[..., ServerHandle], backend: Backend, tmp_path: Path) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=100, card=CARD))
    paysim = Path(sys.executable).parent / "paysim"
    done = subprocess.run(
        [
            str(paysim),
            "verify",
            "--database-url",
            server.settings.database_url or server.settings.effective_database_url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PAYSIM_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert "checked 1 payments" in done.stdout and "all projections match" in done.stdout
    assert asyncio  # the module is used by helpers above through server.run
