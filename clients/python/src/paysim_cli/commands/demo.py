"""``paysim demo seed``: demo data — merchants with API keys and a realistic mix of payments.

Every payment follows one of a few stories (approved, declined, 3-D Secure approved or denied,
captured later, voided, refunded in part or in full), picked at random from ``--seed``, so the
same seed on an empty server tells the same stories.
"""

from __future__ import annotations

import argparse
import random
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from paysim_client import Client
from paysim_client.types import AcsAction, CaptureMethod, CardInput, Payment, PaymentStatus
from paysim_proto.currency import MINIMUM_CHARGE

from paysim_cli.context import Context
from paysim_cli.failures import UsageError
from paysim_cli.money import exponent
from paysim_cli.output import enum_label, table
from paysim_cli.progress import Progress
from paysim_cli.registrar import Registrar

Story = Callable[[Client, int, str], Payment]


def register(registrar: Registrar) -> None:
    group = registrar.group("demo", "demo data")
    parser = group.command(
        "seed",
        "create demo merchants and payments (with a progress bar)",
        seed,
        description=(
            "Create payments telling the usual stories: approved, declined, 3-D Secure approved\n"
            "or denied, captured later, voided, refunded in part or in full.\n\n"
            "  paysim demo seed --payments 50                    # for the merchant you are logged in as\n"
            "  paysim demo seed --merchants 3 --payments 20      # three new merchants, 20 payments each"
        ),
    )
    parser.add_argument(
        "--merchants", type=int, default=0, help="register this many new merchants (default: none, use yours)"
    )
    parser.add_argument("--payments", type=int, default=20, help="payments per merchant (default 20)")
    parser.add_argument("--currency", default="USD", help="currency of the payments (default USD)")
    parser.add_argument("--seed", type=int, help="random seed, to tell the same stories again")


def _card(number: str) -> CardInput:
    return CardInput(number=number, exp_month=12, exp_year=datetime.now(UTC).year + 3, cvc="123")


def _approved(client: Client, amount: int, currency: str) -> Payment:
    return client.payments.create(amount_minor=amount, currency_code=currency, card=_card("4242424242424242"))


def _mastercard(client: Client, amount: int, currency: str) -> Payment:
    return client.payments.create(amount_minor=amount, currency_code=currency, card=_card("5555555555554444"))


def _declined(client: Client, amount: int, currency: str) -> Payment:
    # insufficient_funds, generic_decline, lost_card: chosen by the (random) amount.
    number = ("4000000000009995", "4000000000000002", "4000000000009987")[amount % 3]
    return client.payments.create(amount_minor=amount, currency_code=currency, card=_card(number))


def _three_ds(action: AcsAction.ValueType) -> Story:
    def story(client: Client, amount: int, currency: str) -> Payment:
        payment = client.payments.create(amount_minor=amount, currency_code=currency, card=_card("4000000000003220"))
        return client.three_ds.answer_challenge(payment, action)

    return story


def _manual(then: str) -> Story:
    def story(client: Client, amount: int, currency: str) -> Payment:
        payment = client.payments.create(
            amount_minor=amount,
            currency_code=currency,
            card=_card("4242424242424242"),
            capture_method=CaptureMethod.CAPTURE_METHOD_MANUAL,
        )
        if then == "capture":
            return client.payments.capture(payment.id)
        if then == "void":
            return client.payments.void(payment.id)
        return payment

    return story


def _refunded(part: bool) -> Story:
    def story(client: Client, amount: int, currency: str) -> Payment:
        payment = _approved(client, amount, currency)
        refund_amount = max(amount // 3, 1) if part else 0
        return client.payments.refund(payment.id, amount_minor=refund_amount, reason="demo").payment

    return story


# (weight, story): mostly approvals, as in real traffic.
STORIES: list[tuple[int, Story]] = [
    (30, _approved),
    (10, _mastercard),
    (12, _declined),
    (10, _three_ds(AcsAction.ACS_ACTION_APPROVE)),
    (4, _three_ds(AcsAction.ACS_ACTION_DENY)),
    (8, _manual("capture")),
    (4, _manual("void")),
    (4, _manual("leave")),
    (10, _refunded(part=True)),
    (8, _refunded(part=False)),
]


@dataclass
class DemoMerchant:
    merchant_id: str
    name: str
    email: str
    password: str
    api_key: str


def _register_merchant(ctx: Context, currency: str) -> DemoMerchant:
    suffix = secrets.token_hex(4)
    email, password, name = f"demo-{suffix}@example.test", secrets.token_urlsafe(12), f"Demo Shop {suffix}"
    reply = ctx.anonymous().merchants.register(
        name=name,
        owner_email=email,
        owner_password=password,
        owner_full_name="Demo Owner",
        default_currency_code=currency,
    )
    owner = ctx.connect(email=email, password=password)
    key = owner.merchants.api_keys.create("demo")
    owner.close()
    return DemoMerchant(reply.merchant.id, name, email, password, key.secret)


def seed(ctx: Context, args: argparse.Namespace) -> None:
    currency = args.currency.upper()
    places = exponent(currency)
    if places is None:
        raise UsageError(f"unknown currency {args.currency!r}")
    if args.merchants < 0 or args.payments < 0:
        raise UsageError("--merchants and --payments must not be negative")
    rng = random.Random(args.seed)  # demo data, not secrets
    weights = [w for w, _ in STORIES]
    created: list[DemoMerchant] = []
    if args.merchants:
        with Progress(args.merchants, "merchants") as bar:
            for _ in range(args.merchants):
                created.append(_register_merchant(ctx, currency))
                bar.advance()
    clients = [ctx.connect(api_key=m.api_key) for m in created] or [ctx.client()]
    statuses: Counter[PaymentStatus.ValueType] = Counter()
    with Progress(args.payments * len(clients), "payments") as bar:
        for client in clients:
            for _ in range(args.payments):
                story = rng.choices([s for _, s in STORIES], weights)[0]
                amount = rng.randint(5, 250) * 10**places + rng.choice([0, 0, 50, 99]) * 10 ** max(places - 2, 0)
                amount = max(amount, MINIMUM_CHARGE.get(currency, 1))  # HUF's smallest charge is 175.00
                payment = story(client, amount, currency)
                statuses[payment.status] += 1
                bar.advance()

    def human() -> list[str]:
        total = sum(statuses.values())
        lines = [
            f"seeded {total} payments: "
            + ", ".join(f"{n} {enum_label(PaymentStatus, s)}" for s, n in statuses.most_common())
        ]
        if created:
            rows = [[m.merchant_id, m.name, m.email, m.password, m.api_key] for m in created]
            lines += ["", *table(["MERCHANT", "NAME", "OWNER", "PASSWORD", "API KEY"], rows)]
        return lines

    result = {
        "payments": sum(statuses.values()),
        "statuses": {PaymentStatus.Name(s): n for s, n in statuses.items()},
        "merchants": [vars(m) for m in created],
    }
    ctx.out.result(result, human)
