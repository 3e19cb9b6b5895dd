"""The pure steps of creating a payment: checking the command, the new payment it describes, and
the gateway request of its first authorization."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from paysim.domain import cards, money_rules, payment, payment_rules, radar
from paysim.domain.card_issuers import UnknownCards, issuer_of
from paysim.domain.models import Merchant
from paysim.domain.payment_events import PaymentDeclined, PaymentEvent
from paysim.domain.payment_methods import MethodType, check_payer_email, check_vpa
from paysim.domain.principal import Principal
from paysim.domain.scenarios import CARD_SCENARIOS, scenario_for
from paysim.domain.validation import Violations, check_currency, check_id, check_metadata, check_text
from paysim.gateways.base import AuthorizationRequest, PayPalWallet, Upi
from paysim.services.payment_commands import MAX_AMOUNT, MAX_DESCRIPTION_CHARS, CardInput, CreatePayment
from paysim.services.payment_outcomes import decline_info
from paysim.services.tenancy import target_merchant


def _check_method(v: Violations, cmd: CreatePayment, pan: str, today: date) -> None:
    if cmd.method_type is MethodType.CARD:
        cards.check_card(
            v,
            prefix="card",
            number=pan,
            exp_month=cmd.card.exp_month,
            exp_year=cmd.card.exp_year,
            cvc=cmd.card.cvc,
            today=today,
        )
        check_text(v, "card.holder_name", cmd.card.holder_name, max_chars=200)
        check_text(v, "card.address_line1", cmd.card.address_line1, max_chars=200)
        check_text(v, "card.address_postal_code", cmd.card.address_postal_code, max_chars=20)
    elif cmd.method_type is MethodType.UPI:
        check_vpa(v, "upi.vpa", cmd.method_account)
    else:
        check_payer_email(v, "paypal_wallet.email", cmd.method_account)


def validate_create(
    principal: Principal, cmd: CreatePayment, today: date, card_key: bytes
) -> tuple[str, cards.CardSummary | None, str]:
    """The merchant the payment is for, what is kept of its card (None without one), its number."""
    v = Violations()
    check_id(v, "merchant_id", cmd.merchant_id, "mer", required=False)
    if not 1 <= cmd.amount <= MAX_AMOUNT:
        v.add("amount_minor", f"must be between 1 and {MAX_AMOUNT} minor units", "AMOUNT_OUT_OF_RANGE")
    if cmd.currency:
        check_currency(v, "currency_code", cmd.currency)
        if 1 <= cmd.amount <= MAX_AMOUNT:
            money_rules.check_charge_amount(v, "amount_minor", cmd.amount, cmd.currency)
    pan = cards.normalize_pan(cmd.card.number) if cmd.method_type is MethodType.CARD else ""
    _check_method(v, cmd, pan, today)
    check_id(v, "customer_id", cmd.customer_id, "cus", required=False)
    check_id(v, "test_clock_id", cmd.test_clock_id, "clk", required=False)
    check_text(v, "description", cmd.description, max_chars=MAX_DESCRIPTION_CHARS)
    check_metadata(v, "metadata", cmd.metadata)
    v.raise_if_any()
    merchant_id = target_merchant(principal, cmd.merchant_id)
    if cmd.method_type is not MethodType.CARD:
        return merchant_id, None, pan
    return merchant_id, cards.summarize(pan, cmd.card.exp_month, cmd.card.exp_year, card_key), pan


def check_known_card(unknown_cards: UnknownCards, summary: cards.CardSummary | None, pan: str) -> None:
    """A merchant that refuses cards outside the test catalogue (as Stripe refuses real card
    numbers in test mode) is answered before anything is stored."""
    if unknown_cards is UnknownCards.REFUSE and summary is not None and pan not in CARD_SCENARIOS:
        v = Violations()
        v.add(
            "card.number",
            "is not one of the test cards; this merchant refuses other card numbers (unknown_cards: refuse)",
            "CARD_NOT_IN_TEST_CATALOGUE",
        )
        v.raise_if_any()


def clock_of(requested: str, customers: str) -> str:
    """The test clock a customer's payment lives on: the customer's; naming another is refused."""
    if requested and customers and requested != customers:
        v = Violations()
        v.add("test_clock_id", "must be the customer's test clock (or empty)", "TEST_CLOCK_MISMATCH")
        v.raise_if_any()
    return customers or requested


def new_payment(
    cmd: CreatePayment,
    merchant: Merchant,
    summary: cards.CardSummary | None,
    pan: str,
    test_clock_id: str = "",
) -> payment_rules.NewPayment:
    """The payment ``cmd`` asks of ``merchant``; the checks that need the merchant's settings come first."""
    if not cmd.currency:  # the merchant's currency: its rules are known only now
        v = Violations()
        money_rules.check_charge_amount(v, "amount_minor", cmd.amount, merchant.default_currency)
        v.raise_if_any()
    check_known_card(merchant.unknown_cards, summary, pan)
    card = payment.NO_CARD if summary is None else _card(summary, pan, cmd.amount, cmd.card)
    return payment_rules.NewPayment(
        merchant_id=merchant.id,
        amount=cmd.amount,
        currency=cmd.currency or merchant.default_currency,
        pan=pan,
        card=card,
        customer_id=cmd.customer_id,
        description=cmd.description,
        metadata=cmd.metadata,
        capture_method=cmd.capture_method,
        method_type=cmd.method_type.value,
        method_account=cmd.method_account,
        test_clock_id=test_clock_id,
    )


def _card(summary: cards.CardSummary, pan: str, amount: int, given: CardInput) -> payment.Card:
    """What the payment keeps of its card: the summary, its issuer, and its fraud screening."""
    issuer = issuer_of(pan, in_catalogue=pan in CARD_SCENARIOS)
    holder_name = given.holder_name.strip()
    screening = radar.screen(
        scenario_for(pan, amount, holder_name),
        address_line1_given=bool(given.address_line1.strip()),
        postal_code_given=bool(given.address_postal_code.strip()),
    )
    return payment.Card(
        summary.brand.value,
        summary.bin,
        summary.last4,
        summary.exp_month,
        summary.exp_year,
        summary.fingerprint,
        holder_name,
        issuer.country,
        issuer.funding.value,
        screening.risk_level.value,
        screening.cvc_check.value,
        screening.address_line1_check.value,
        screening.address_postal_code_check.value,
    )


def fraud_block(card: payment.Card, at: datetime) -> list[PaymentEvent]:
    """The decline of a new payment that a default fraud rule blocks (domain/radar.py): no gateway
    is called. Empty when no rule blocks it (always, without a card)."""
    block = radar.blocked(card)
    if block is None:
        return []
    decline = replace(decline_info(block.decline_code), blocked_by=block.rule)
    return [PaymentDeclined(at=at, decline=decline)]


def first_authorization(payment_id: str, new: payment_rules.NewPayment, cmd: CreatePayment) -> AuthorizationRequest:
    """The gateway request of a new payment: its card, or the account of its other method."""
    capture = new.capture_method is payment.CaptureMethod.AUTOMATIC
    if cmd.method_type is MethodType.CARD:
        return AuthorizationRequest(
            downstream_key=f"{payment_id}:authorize",
            amount=new.amount,
            currency=new.currency,
            pan=new.pan,
            exp_month=cmd.card.exp_month,
            exp_year=cmd.card.exp_year,
            holder_name=new.card.holder_name,
            capture=capture,
            override=cmd.override,
        )
    method = Upi(cmd.method_account) if cmd.method_type is MethodType.UPI else PayPalWallet(cmd.method_account)
    return AuthorizationRequest(
        downstream_key=f"{payment_id}:authorize",
        amount=new.amount,
        currency=new.currency,
        pan="",
        capture=capture,
        override=cmd.override,
        method=method,
    )
