"""Replays every payment's events and compares the result with its stored projection.

A projection is trusted only because it can be rebuilt: this is the check behind ``paysim verify``.
Each payment is replayed from nothing and, when it has one, from its snapshot too, so a wrong
snapshot is caught as well as a wrong projection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from paysim.domain import payment
from paysim.store.repositories.disputes import dispute_row
from paysim.store.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Mismatch:
    payment_id: str
    problem: str
    fields: tuple[str, ...] = ()


@dataclass
class VerifyReport:
    checked: int = 0
    snapshots_checked: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _differences(a: dict[str, Any], b: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k)))


async def verify_payment(uow_factory: UnitOfWorkFactory, payment_id: str, report: VerifyReport) -> None:
    # The projection and the events are read by separate statements; a payment that changes in
    # between would look inconsistent. Its version says so, and then it is read again.
    for _ in range(5):
        async with uow_factory() as uow:
            projection = await uow.payments.get(payment_id)
            events = await uow.payments.events(payment_id)
            snapshot = await uow.payments.snapshot(payment_id)
            dispute = await uow.disputes.row_of(payment_id)
        if projection is None or not events or projection.version == events[-1].version:
            break
    report.checked += 1
    if projection is None:
        report.mismatches.append(Mismatch(payment_id, "events without a projection"))
        return
    versions = [e.version for e in events]
    if versions != list(range(1, len(events) + 1)):
        report.mismatches.append(Mismatch(payment_id, "event versions are not 1..n"))
        return
    stored = payment.to_dict(projection)
    try:
        rebuilt = payment.replay(payment_id, [e.as_domain() for e in events])
    except (ValueError, KeyError) as error:
        report.mismatches.append(Mismatch(payment_id, f"events do not replay: {error}"))
        return
    if (diff := _differences(payment.to_dict(rebuilt), stored)) != ():
        report.mismatches.append(Mismatch(payment_id, "projection differs from replayed events", diff))
    expected = None if rebuilt.dispute is None else dispute_row(rebuilt)
    if expected != dispute and (diff := _differences(expected or {}, dispute or {})) != ():
        report.mismatches.append(Mismatch(payment_id, "dispute projection differs from replayed events", diff))
    if snapshot is not None:
        report.snapshots_checked += 1
        later = [e.as_domain() for e in events if e.version > snapshot.version]
        from_snapshot = payment.replay(payment_id, later, start=snapshot) if later else snapshot
        if (diff := _differences(payment.to_dict(from_snapshot), stored)) != ():
            report.mismatches.append(Mismatch(payment_id, "snapshot plus later events differ", diff))


async def verify_all(uow_factory: UnitOfWorkFactory, *, batch: int = 200) -> VerifyReport:
    report = VerifyReport()
    last = ""
    while True:
        async with uow_factory() as uow:
            ids = await uow.payments.ids_page(last, batch)
        if not ids:
            return report
        for payment_id in ids:
            await verify_payment(uow_factory, payment_id, report)
        last = ids[-1]
