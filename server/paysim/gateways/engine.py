"""Pieces of the processing engine that more than one gateway shares: the deterministic card decision
(from the scenario catalogue) and the bounded ledger of earlier calls by downstream key."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

from paysim.domain.overrides import Forced, Override
from paysim.domain.scenarios import scenario_for
from paysim.gateways.base import Outcome

LEDGER_SIZE = 200_000

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Decision:
    """What the engine decided for an authorization: approve, or decline with a paysim decline code."""

    outcome: Outcome
    decline_code: str = ""
    description: str = ""

    @property
    def approved(self) -> bool:
        return self.outcome is Outcome.APPROVED


def card_decision(pan: str, amount: int, holder_name: str) -> Decision:
    """The outcome the scenario catalogue forces for a card (holder name, magic amount, test card).

    Until 3-D Secure runs, a 3DS card ends where its flow would: the "then declined" and "lookup fails"
    cards carry their decline code, the others authorize (as the simulator gateway does)."""
    scenario = scenario_for(pan, amount, holder_name)
    if scenario.decline_code:
        return Decision(Outcome.DECLINED, scenario.decline_code, scenario.description)
    return Decision(Outcome.APPROVED, "", scenario.description)


def overridden(decision: Decision, override: Override | None) -> Decision:
    """The decision after a per-request override (paysim-force-outcome); an ``error`` override is
    the caller's to answer (a processor error, not a decision)."""
    if override is None or override.outcome is None or override.outcome is Forced.ERROR:
        return decision
    if override.outcome is Forced.APPROVE:
        return Decision(Outcome.APPROVED, "", "forced approval (paysim-force-outcome)")
    return Decision(Outcome.DECLINED, override.decline_code, "forced decline (paysim-force-outcome)")


def amount_decision(amount: int) -> Decision:
    """The outcome for a payment without a card: only the magic-amount lever applies."""
    return card_decision("", amount, "")


class Ledger(Generic[T]):
    """A processor's memory of earlier calls by downstream key: a repeated call is answered from here
    instead of acting twice. Bounded; the oldest entries go first."""

    def __init__(self, size: int = LEDGER_SIZE) -> None:
        if size < 1:
            raise ValueError("ledger size must be at least 1")
        self._size = size
        self._entries: OrderedDict[str, T] = OrderedDict()

    def get(self, key: str) -> T | None:
        return self._entries.get(key)

    def remember(self, key: str, value: T) -> T:
        self._entries[key] = value
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries
