"""Opening a dispute when a dispute test card's payment is captured: the dispute's first events join
the capture's, in the same transaction (services/payments.py, services/payment_recovery.py), so a
captured dispute-card payment is never seen without its dispute."""

from __future__ import annotations

from collections.abc import Sequence

from paysim.domain import dispute_rules, ids
from paysim.domain.payment import PaymentState
from paysim.domain.payment_events import PaymentCaptured, PaymentEvent
from paysim.gateways.engine import CatalogueCards


def clock_of(payment: PaymentState) -> str | None:
    """The test clock the payment lives on (None: real time); its dispute lives on the same one."""
    return payment.test_clock_id or None


class DisputeOpening:
    def __init__(self, test_cards: CatalogueCards) -> None:
        self._test_cards = test_cards

    def with_dispute(self, before: PaymentState, appended: Sequence[PaymentEvent]) -> list[PaymentEvent]:
        """``appended``, followed by the dispute a capture among them opens for a dispute test card."""
        events = list(appended)
        if before.dispute is not None or not any(isinstance(e, PaymentCaptured) for e in events):
            return events
        # The number is never kept: the card's fingerprint names the test card.
        scenario = self._test_cards.scenario(before.card.fingerprint) if before.card.fingerprint else None
        opening = None if scenario is None else dispute_rules.OPENINGS.get(scenario.kind)
        if opening is None:
            return events
        dispute_id = ids.new_id(ids.DISPUTE)
        return [*events, *dispute_rules.opened_by_capture(before, events, opening, dispute_id, clock_of(before))]
