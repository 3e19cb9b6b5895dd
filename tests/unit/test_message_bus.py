"""The message bus hands each message to the handlers of its type, one failing handler does not
keep the others from running; a unit of work's outcome publishes what its caller noted and
what its payment store wrote, once, after a commit."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from paysim.domain.messages import (
    GatewayConfigsChanged,
    MerchantChanged,
    Message,
    PaymentEventsCommitted,
    WebhookDeliveriesWritten,
)
from paysim.services.message_bus import MessageBus
from paysim.store.unit_of_work import Outcome


def test_messages_reach_the_handlers_of_their_type_and_a_failing_handler_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = MessageBus()
    seen: list[str] = []

    def broken(_: MerchantChanged) -> None:
        raise RuntimeError("cache gone")

    bus.subscribe(MerchantChanged, broken)
    bus.subscribe(MerchantChanged, lambda m: seen.append(f"merchant {m.merchant_id}"))
    bus.subscribe(GatewayConfigsChanged, lambda m: seen.append(f"routes {m.merchant_id}"))
    with caplog.at_level(logging.ERROR, "paysim.messages"):
        bus.publish([MerchantChanged("mer_a"), PaymentEventsCommitted(), GatewayConfigsChanged("mer_b")])
    assert seen == ["merchant mer_a", "routes mer_b"]
    assert [r.getMessage() for r in caplog.records] == ["a message handler failed"]


@dataclass
class FakeStore:
    wrote_events: bool = False
    outbox_rows: int = 0


def test_an_outcome_publishes_once_after_commit_what_was_noted_and_written() -> None:
    published: list[Sequence[Message]] = []
    outcome = Outcome(published.append)
    outcome.notify(MerchantChanged("mer_a"))
    outcome.notify(MerchantChanged("mer_a"))  # the same notice twice is one
    store = FakeStore(wrote_events=True, outbox_rows=2)
    outcome.committed(store)  # type: ignore[arg-type]
    assert published == [[MerchantChanged("mer_a"), PaymentEventsCommitted(), WebhookDeliveriesWritten()]]
    outcome.committed(store)  # type: ignore[arg-type]  # a second commit with nothing new says nothing
    assert len(published) == 1
