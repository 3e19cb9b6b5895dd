"""``paysim payments …``: create, show, list, capture, void and refund payments."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from paysim_client import SimulationOverride
from paysim_client.types import CaptureMethod, CardInput, PaymentStatus, PayPalWalletInput, UpiInput
from paysim_proto.v1.payment_pb2 import ListPaymentEventsResponse, ListPaymentsResponse, ListRefundsResponse

from paysim_cli import views
from paysim_cli.commands._common import (
    add_amount_options,
    add_list_options,
    add_merchant_option,
    amount_from,
    collect,
    key_values,
    more,
)
from paysim_cli.context import Context
from paysim_cli.failures import UsageError
from paysim_cli.money import format_minor
from paysim_cli.output import enum_choices, parse_enum, table, when
from paysim_cli.registrar import Registrar

AMEX_PREFIXES = ("34", "37")


def register(registrar: Registrar) -> None:
    group = registrar.group("payments", "create, show, list, capture, void and refund payments")
    _register_create(group)

    parser = group.command("get", "show a payment", get)
    parser.add_argument("payment_id", metavar="PAYMENT_ID")

    _register_list(group)

    parser = group.command("capture", "capture an authorized payment (all of it, or --amount)", capture)
    parser.add_argument("payment_id", metavar="PAYMENT_ID")
    add_amount_options(parser, "the amount to capture (default: all)")
    parser.add_argument("--idempotency-key")

    parser = group.command("void", "release an authorized payment without capturing it", void)
    parser.add_argument("payment_id", metavar="PAYMENT_ID")
    parser.add_argument("--idempotency-key")

    parser = group.command("refund", "refund a captured payment (all that is left, or --amount)", refund)
    parser.add_argument("payment_id", metavar="PAYMENT_ID")
    add_amount_options(parser, "the amount to refund (default: all that is left)")
    parser.add_argument("--reason", default="", help="why, in words")
    parser.add_argument("--idempotency-key")

    parser = group.command("refunds", "a payment's refunds, oldest first", refunds)
    parser.add_argument("payment_id", metavar="PAYMENT_ID")
    add_list_options(parser, default_limit=0)

    parser = group.command("events", "a payment's history: its events in order", events)
    parser.add_argument("payment_id", metavar="PAYMENT_ID")
    add_list_options(parser, default_limit=0)


def _register_create(group: Registrar) -> None:
    parser = group.command(
        "create",
        "create a payment (authorized and, unless --manual, captured)",
        create,
        description=(
            "Create a payment. A declined card is a result, not an error: the payment is shown\n"
            "with its decline code and the command exits 0. A card that needs 3-D Secure comes\n"
            "back `requires action`: answer the challenge with `paysim 3ds approve PAYMENT`.\n\n"
            "  paysim payments create --amount 19.99 --currency USD --card 4242424242424242\n"
            "  paysim payments create --amount 25 --currency EUR --card 4000000000003220      # 3-D Secure\n"
            "  paysim payments create --amount-minor 5000 --card 4000000000009995            # declined\n"
            "  paysim payments create --amount 10 --card 4242424242424242 --manual           # capture later\n\n"
            "UPI payments go through the razorpay gateway and PayPal wallets through paypal; a new\n"
            "merchant routes to the simulator alone, so add the gateway once first:\n\n"
            "  paysim gateways set razorpay --priority 1\n"
            "  paysim payments create --amount 500 --currency INR --upi success@razorpay"
        ),
    )
    add_amount_options(parser, "the amount", required=True)
    parser.add_argument("--currency", default="", help="ISO 4217 code (default: the merchant's)")
    method = parser.add_mutually_exclusive_group(required=True)
    method.add_argument("--card", metavar="NUMBER", help="a card number (test cards: `paysim simulator scenarios`)")
    method.add_argument("--upi", metavar="VPA", help="a UPI address, e.g. success@razorpay (razorpay gateway)")
    method.add_argument("--paypal", metavar="EMAIL", help="a PayPal wallet's email (paypal gateway)")
    parser.add_argument("--exp", metavar="MM/YY", help="the card's expiry (default: December, three years ahead)")
    parser.add_argument("--cvc", help="the card's CVC (default 123, 1234 for American Express)")
    parser.add_argument("--holder", default="", help="the name on the card")
    parser.add_argument("--address-line1", default="", metavar="TEXT", help="billing address, first line (checked)")
    parser.add_argument("--postal-code", default="", metavar="CODE", help="billing postal code (checked)")
    parser.add_argument("--manual", action="store_true", help="authorize only; capture later with `payments capture`")
    parser.add_argument("--customer", default="", metavar="CUSTOMER_ID")
    parser.add_argument(
        "--test-clock", default="", metavar="CLOCK_ID", help="live on this test clock (default: the customer's)"
    )
    parser.add_argument("--description", default="")
    parser.add_argument("--metadata", action="append", metavar="KEY=VALUE", help="repeatable")
    parser.add_argument("--idempotency-key", help="send this key: repeating the command then never pays twice")
    parser.add_argument("--outcome", help="force the outcome: approve, decline, decline:<code>, error")
    parser.add_argument("--latency-ms", type=int, help="make the gateway take this long to answer")
    add_merchant_option(parser)


def _register_list(group: Registrar) -> None:
    parser = group.command("list", "the merchant's payments, newest first", list_payments)
    parser.add_argument(
        "--status",
        action="append",
        type=_status,
        metavar="STATUS",
        help=f"only these (repeatable): {', '.join(enum_choices(PaymentStatus))}",
    )
    parser.add_argument("--customer", default="", metavar="CUSTOMER_ID")
    parser.add_argument("--card-last4", default="", metavar="NNNN")
    parser.add_argument("--min-amount-minor", type=int, metavar="N")
    parser.add_argument("--max-amount-minor", type=int, metavar="N")
    parser.add_argument(
        "--since", type=_moment, metavar="TIME", help="created at or after, e.g. 2026-11-27T09:00 (UTC)"
    )
    parser.add_argument("--until", type=_moment, metavar="TIME", help="created before")
    add_merchant_option(parser)
    add_list_options(parser)


def _status(text: str) -> int:
    try:
        return parse_enum(PaymentStatus, text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _moment(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time such as 2026-11-27 or 2026-11-27T09:30") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _expiry(text: str | None) -> tuple[int, int]:
    if text is None:
        return 12, datetime.now(UTC).year + 3
    month, sep, year = text.partition("/")
    if not sep or not month.strip().isdigit() or not year.strip().isdigit():
        raise UsageError(f"--exp takes MM/YY or MM/YYYY, not {text!r}")
    full_year = int(year) + (2000 if len(year.strip()) <= 2 else 0)
    return int(month), full_year


def _card(args: argparse.Namespace) -> CardInput:
    number = args.card.replace(" ", "").replace("-", "")
    month, year = _expiry(args.exp)
    cvc = args.cvc or ("1234" if number.startswith(AMEX_PREFIXES) else "123")
    return CardInput(
        number=number,
        exp_month=month,
        exp_year=year,
        cvc=cvc,
        holder_name=args.holder,
        address_line1=args.address_line1,
        address_postal_code=args.postal_code,
    )


def create(ctx: Context, args: argparse.Namespace) -> None:
    client = ctx.client()
    currency = args.currency.upper()

    def default_currency() -> str:
        return currency or client.merchants.get(args.merchant).default_currency_code

    amount = amount_from(args, default_currency)
    simulate = None
    if args.outcome is not None or args.latency_ms is not None:
        simulate = SimulationOverride(outcome=args.outcome, latency_ms=args.latency_ms)
    payment = client.payments.create(
        amount_minor=amount,
        currency_code=currency,
        card=_card(args) if args.card else None,
        upi=UpiInput(vpa=args.upi) if args.upi else None,
        paypal_wallet=PayPalWalletInput(email=args.paypal) if args.paypal else None,
        capture_method=CaptureMethod.CAPTURE_METHOD_MANUAL if args.manual else CaptureMethod.CAPTURE_METHOD_UNSPECIFIED,
        customer_id=args.customer,
        description=args.description,
        metadata=key_values(args.metadata, "--metadata"),
        merchant_id=args.merchant,
        idempotency_key=args.idempotency_key,
        simulate=simulate,
        test_clock_id=args.test_clock,
    )
    ctx.out.result(payment, lambda: views.payment_lines(payment))


def get(ctx: Context, args: argparse.Namespace) -> None:
    payment = ctx.client().payments.get(args.payment_id)
    ctx.out.result(payment, lambda: views.payment_lines(payment))


def list_payments(ctx: Context, args: argparse.Namespace) -> None:
    client = ctx.client()
    statuses = list(args.status or ())
    payments, token = collect(
        lambda size, page_token: client.payments.list(
            statuses=statuses,
            customer_id=args.customer,
            min_amount_minor=args.min_amount_minor,
            max_amount_minor=args.max_amount_minor,
            created_after=args.since,
            created_before=args.until,
            card_last4=args.card_last4,
            merchant_id=args.merchant,
            page_size=size,
            page_token=page_token,
        ),
        args.limit,
        args.page_token,
    )

    def human() -> list[str]:
        if not payments:
            return ["no payments"]
        return [*views.payment_table(payments), *more(token)]

    ctx.out.result(ListPaymentsResponse(payments=payments, next_page_token=token), human)


def capture(ctx: Context, args: argparse.Namespace) -> None:
    client = ctx.client()
    amount = amount_from(args, lambda: client.payments.get(args.payment_id).currency_code)
    payment = client.payments.capture(args.payment_id, amount_minor=amount, idempotency_key=args.idempotency_key)
    ctx.out.result(payment, lambda: views.payment_lines(payment))


def void(ctx: Context, args: argparse.Namespace) -> None:
    payment = ctx.client().payments.void(args.payment_id, idempotency_key=args.idempotency_key)
    ctx.out.result(payment, lambda: views.payment_lines(payment))


def refund(ctx: Context, args: argparse.Namespace) -> None:
    client = ctx.client()
    amount = amount_from(args, lambda: client.payments.get(args.payment_id).currency_code)
    reply = client.payments.refund(
        args.payment_id, amount_minor=amount, reason=args.reason, idempotency_key=args.idempotency_key
    )
    r = reply.refund
    summary = f"refund {r.id} {views.refund_status(r)}: {format_minor(r.amount_minor, r.currency_code)}"
    if r.failure_reason:
        summary += f" ({r.failure_reason})"
    ctx.out.result(reply, lambda: [summary, "", *views.payment_lines(reply.payment)])


def refunds(ctx: Context, args: argparse.Namespace) -> None:
    client = ctx.client()
    found, token = collect(
        lambda size, page_token: client.payments.list_refunds(args.payment_id, page_size=size, page_token=page_token),
        args.limit,
        args.page_token,
    )

    def human() -> list[str]:
        if not found:
            return [f"no refunds of {args.payment_id}"]
        return [*views.refund_table(found), *more(token)]

    ctx.out.result(ListRefundsResponse(refunds=found, next_page_token=token), human)


def events(ctx: Context, args: argparse.Namespace) -> None:
    client = ctx.client()
    found, token = collect(
        lambda size, page_token: client.payments.events(args.payment_id, page_size=size, page_token=page_token),
        args.limit,
        args.page_token,
    )
    rows = [[str(e.sequence), str(e.payment_version), e.type, when(e.create_time)] for e in found]
    ctx.out.result(
        ListPaymentEventsResponse(events=found, next_page_token=token),
        lambda: [*table(["SEQUENCE", "VERSION", "TYPE", "TIME"], rows, right=[0, 1]), *more(token)],
    )
