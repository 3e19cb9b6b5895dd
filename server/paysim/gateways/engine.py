"""Pieces of the processing engine that more than one gateway shares: the deterministic card decision
(from the scenario catalogue), the catalogue's test cards by fingerprint, and the bounded ledger of
earlier calls by downstream key."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

from paysim.domain import cards
from paysim.domain.overrides import Forced, Override
from paysim.domain.scenarios import CARD_SCENARIOS, Scenario, scenario_for
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


def card_decision(pan: str, amount: int, holder_name: str, test_card: Scenario | None = None) -> Decision:
    """The outcome the scenario catalogue forces for a card (holder name, magic amount, test card).

    3-D Secure runs before the gateway is called (services/threeds.py); what reaches the gateway is
    the authorization: the "then declined" 3DS cards carry their decline code, the others authorize.
    ``test_card`` stands for the number when the request has none (see ``CatalogueCards``)."""
    scenario = scenario_for(pan, amount, holder_name, card=test_card)
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


class CatalogueCards:
    """The catalogue's test cards by keyed fingerprint: how the simulated network recognises a test
    card it is given without its number. paysim never keeps a number, only its fingerprint, so a
    payment authorized after 3-D Secure is decided from this. Built at start with the same key the
    payments' fingerprints are made with; a fingerprint it does not know is an ordinary card."""

    def __init__(self, fingerprint_key: bytes) -> None:
        self._by_fingerprint = {cards.fingerprint(pan, fingerprint_key): s for pan, s in CARD_SCENARIOS.items()}

    def scenario(self, fingerprint: str) -> Scenario | None:
        return self._by_fingerprint.get(fingerprint)


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
