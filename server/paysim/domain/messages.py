"""What a committed transaction tells the rest of this process, once it has committed.

A unit of work collects these while it runs and hands them to the message bus only after its
commit succeeded: a rolled-back transaction announces nothing. They are notices ("look again"),
not data: every handler reads what it needs from the store, so a lost or coalesced notice
delays, but never loses or reorders, anything.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PaymentEventsCommitted:
    """Payment events were appended: event streams read the store again (and other processes
    are told, on PostgreSQL)."""


@dataclass(frozen=True, slots=True)
class WebhookDeliveriesWritten:
    """Webhook deliveries were queued: the dispatcher sends them now rather than at its next poll."""


@dataclass(frozen=True, slots=True)
class MerchantChanged:
    """A merchant, its settings or one of its API keys changed: cached authentications and
    merchant settings of this process are stale."""

    merchant_id: str


@dataclass(frozen=True, slots=True)
class GatewayConfigsChanged:
    """A merchant's gateway routes changed: the cached routes are stale."""

    merchant_id: str


Message = PaymentEventsCommitted | WebhookDeliveriesWritten | MerchantChanged | GatewayConfigsChanged
