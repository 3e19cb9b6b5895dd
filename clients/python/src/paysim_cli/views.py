"""How the contract's objects read to a person: amounts with their currency, readable statuses."""

from __future__ import annotations

from collections.abc import Sequence

from paysim_client.types import (
    CardDetails,
    DisputeStatus,
    Payment,
    PaymentMethodType,
    PaymentStatus,
    Refund,
    RefundStatus,
    ThreeDSAuthentication,
    ThreeDSChallengeStatus,
)

from paysim_cli.money import format_minor
from paysim_cli.output import enum_label, fields, table, when


def status(payment: Payment) -> str:
    return enum_label(PaymentStatus, payment.status)


def card(details: CardDetails) -> str:
    if not details.last4:
        return ""
    return f"{details.brand} •••• {details.last4} ({details.exp_month:02d}/{details.exp_year})"


def issuer(details: CardDetails) -> str:
    """``debit, issued in BR``; a card outside the test catalogue has no known issuer."""
    if not details.funding:  # no card, or a server from before cards said
        return ""
    return f"{details.funding}, issued in {details.country}" if details.country else f"{details.funding} funding"


def risk(payment: Payment) -> str:
    """Said only when it stands out: ``elevated`` or ``highest``."""
    return payment.risk_level if payment.risk_level in ("elevated", "highest") else ""


def checks(details: CardDetails) -> str:
    """The issuer's checks that did not pass, e.g. ``cvc fail, postal code unavailable``; empty when
    every check given passed (a check of nothing given is ``unchecked`` and not shown)."""
    c = details.checks
    found = (
        ("cvc", c.cvc_check),
        ("address line 1", c.address_line1_check),
        ("postal code", c.address_postal_code_check),
    )
    return ", ".join(f"{name} {result}" for name, result in found if result in ("fail", "unavailable"))


def method(payment: Payment) -> str:
    if payment.method_type in (PaymentMethodType.PAYMENT_METHOD_TYPE_CARD, 0) and payment.HasField("card"):
        return card(payment.card)
    kind = enum_label(PaymentMethodType, payment.method_type)
    return f"{kind} {payment.method_account}".strip()


def three_ds(auth: ThreeDSAuthentication) -> str:
    if not auth.trans_status:
        return ""
    parts = [f"ECI {auth.eci}"] if auth.eci else []
    parts.append("challenged" if auth.challenged else "frictionless")
    if auth.trans_status_reason:
        parts.append(auth.trans_status_reason)
    return f"{auth.trans_status} ({', '.join(parts)})"


def payment_lines(payment: Payment) -> list[str]:
    """The payment in full: amounts, method, outcome, what to do next."""

    def money(amount: int) -> str:
        return format_minor(amount, payment.currency_code)

    settled = payment.captured_amount_minor > 0
    decline = payment.decline
    lines = fields(
        [
            ("payment", payment.id),
            ("status", status(payment)),
            ("amount", money(payment.amount_minor)),
            ("authorized", money(payment.authorized_amount_minor) if payment.authorized_amount_minor else ""),
            ("captured", money(payment.captured_amount_minor) if settled else ""),
            ("refunded", money(payment.refunded_amount_minor) if settled else ""),
            ("fee", money(payment.fee_amount_minor) if settled else ""),
            ("net", money(payment.net_amount_minor) if settled else ""),
            ("method", method(payment)),
            ("holder", payment.card.holder_name),
            ("card", issuer(payment.card)),
            ("checks", checks(payment.card)),
            ("risk", risk(payment)),
            ("gateway", payment.gateway),
            ("3-D Secure", three_ds(payment.three_ds)),
            ("declined", f"{decline.code}: {decline.message}" if decline.code else ""),
            ("blocked by", decline.blocked_by),
            ("retry", ("may succeed later" if decline.retryable else "will not help as is") if decline.code else ""),
            ("failure", payment.failure_reason),
            ("dispute", _dispute(payment)),
            ("customer", payment.customer_id),
            ("test clock", payment.test_clock_id),
            ("description", payment.description),
            *((f"metadata.{k}", v) for k, v in sorted(payment.metadata.items())),
            ("created", when(payment.create_time)),
        ]
    )
    if payment.refunds:
        lines += ["", *refund_table(payment.refunds)]
    challenge = payment.next_action.three_ds_challenge
    if payment.status == PaymentStatus.PAYMENT_STATUS_REQUIRES_ACTION and challenge.id:
        lines += [
            "",
            f"3-D Secure challenge {challenge.id} is waiting for the cardholder (until {when(challenge.expire_time)}):",
            f"  paysim 3ds approve {payment.id}    (or: paysim 3ds deny {payment.id})",
        ]
    return lines


def _dispute(payment: Payment) -> str:
    if not payment.HasField("dispute"):
        return ""
    d = payment.dispute
    return f"{d.id} {enum_label(DisputeStatus, d.status)}"


def payment_table(payments: Sequence[Payment]) -> list[str]:
    rows = [
        [
            p.id,
            status(p),
            format_minor(p.amount_minor, p.currency_code),
            method(p),
            p.decline.code or p.failure_reason,
            when(p.create_time),
        ]
        for p in payments
    ]
    return table(["PAYMENT", "STATUS", "AMOUNT", "METHOD", "OUTCOME", "CREATED"], rows, right=[2])


def refund_table(refunds: Sequence[Refund]) -> list[str]:
    rows = [
        [
            r.id,
            refund_status(r),
            format_minor(r.amount_minor, r.currency_code),
            r.reason or r.failure_reason,
            when(r.create_time),
        ]
        for r in refunds
    ]
    return table(["REFUND", "STATUS", "AMOUNT", "REASON", "CREATED"], rows, right=[2])


def refund_status(refund: Refund) -> str:
    return enum_label(RefundStatus, refund.status)


def challenge_status(value: ThreeDSChallengeStatus.ValueType) -> str:
    return enum_label(ThreeDSChallengeStatus, value)
