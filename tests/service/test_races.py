"""Writers racing on one payment: the version guard of the fakes' store (as of the real ones) and the
service's optimistic second transaction that runs again on the current payment."""

from __future__ import annotations

from dataclasses import replace

import pytest

from paysim.domain.errors import Aborted
from paysim.domain.payment_values import CaptureMethod, Status
from paysim.store.repositories.payments import CONCURRENT_MODIFICATION
from tests.service.conftest import World
from tests.support.fakes import FakeUnitOfWork

# Races during a gateway call between two transactions; at once, the first holds the payment's lock
# throughout (tests/test_payment_races.py runs them on PostgreSQL).
two_phase = pytest.mark.parametrize("world", [False], ids=["two-phase"], indirect=True)


@two_phase
def test_a_refund_that_lands_during_another_refunds_gateway_call_does_not_lose_either(world: World) -> None:
    world.use("primary")
    payment_id = world.create(10_000, capture=CaptureMethod.AUTOMATIC).payment.id
    racing = world.payments.refund(world.principal, payment_id, 3_000, "second", None)
    world.primary.meanwhile = lambda: racing
    first = world.run(world.payments.refund(world.principal, payment_id, 2_000, "first", None))
    assert first.refund is not None and first.refund.status == "succeeded"
    stored = world.db.payment(payment_id)
    assert stored is not None
    assert (stored.status, stored.refunded_amount) == (Status.PARTIALLY_REFUNDED, 5_000)
    assert sorted(r.amount for r in stored.refunds) == [2_000, 3_000]


@two_phase
def test_a_capture_requested_while_another_is_at_the_gateway_is_told_the_payment_is_busy(world: World) -> None:
    world.use("primary")
    payment_id = world.authorized(10_000)
    refusals: list[Aborted] = []

    async def second_capture() -> None:
        try:
            await world.payments.capture(world.principal, payment_id, 0, None)
        except Aborted as refusal:
            refusals.append(refusal)

    world.primary.meanwhile = second_capture
    state = world.run(world.payments.capture(world.principal, payment_id, 4_000, None)).payment
    assert (state.status, state.captured_amount) == (Status.CAPTURED, 4_000)
    assert [r.reason for r in refusals] == ["PAYMENT_BUSY"]


def test_of_two_open_transactions_on_one_payment_the_second_commit_is_refused(world: World) -> None:
    payment_id = world.authorized(10_000)

    async def race() -> None:
        first, second = FakeUnitOfWork(world.db), FakeUnitOfWork(world.db)
        for unit in (first, second):
            before = await unit.payments.get(payment_id)
            assert before is not None
            await unit.payments.save(before, replace(before, version=before.version + 1), [])
        await first.commit()
        with pytest.raises(Aborted) as raised:
            await second.commit()
        assert raised.value.reason == CONCURRENT_MODIFICATION

    world.run(race())
