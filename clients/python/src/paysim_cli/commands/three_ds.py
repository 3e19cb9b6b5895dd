"""``paysim 3ds …``: a payment's 3-D Secure challenge, answered as the cardholder; the policy."""

from __future__ import annotations

import argparse

from paysim_client.types import AcsAction, ThreeDSPolicy, ThreeDSPolicyMode

from paysim_cli import views
from paysim_cli.commands._common import add_merchant_option, key_values
from paysim_cli.context import Context
from paysim_cli.failures import UsageError
from paysim_cli.money import AmountError, format_minor, parse_amount
from paysim_cli.output import enum_choices, enum_label, fields, parse_enum, when
from paysim_cli.registrar import Registrar

ACTIONS = {
    "approve": (AcsAction.ACS_ACTION_APPROVE, "the cardholder approves: the payment is authorized"),
    "deny": (AcsAction.ACS_ACTION_DENY, "the cardholder refuses: the payment fails"),
    "wrong-code": (AcsAction.ACS_ACTION_WRONG_CODE, "the cardholder enters a wrong code: the payment fails"),
}


def register(registrar: Registrar) -> None:
    group = registrar.group("3ds", "walk a payment's 3-D Secure challenge; the merchant's 3-D Secure policy")
    parser = group.command("show", "a payment's challenge and authentication", show)
    parser.add_argument("payment_id", metavar="PAYMENT_ID")
    for name, (_, what) in ACTIONS.items():
        parser = group.command(name, f"answer the challenge at the simulated ACS and complete it: {what}", answer)
        parser.add_argument("payment_id", metavar="PAYMENT_ID")
        parser.set_defaults(acs_action=name)
    policy = group.group("policy", "when the merchant asks for 3-D Secure itself")
    parser = policy.command("show", "the merchant's policy", show_policy)
    add_merchant_option(parser)
    parser = policy.command(
        "set",
        "replace the merchant's policy",
        set_policy,
        description=(
            "Replace the merchant's 3-D Secure policy: never (the default), always, or above an\n"
            "amount per currency.\n\n"
            "  paysim 3ds policy set above-amount --threshold USD=100 --threshold EUR=90"
        ),
    )
    parser.add_argument(
        "mode", choices=enum_choices(ThreeDSPolicyMode), metavar="MODE", help="never, always, above-amount"
    )
    parser.add_argument("--threshold", action="append", metavar="CURRENCY=AMOUNT", help="for above-amount (repeatable)")
    add_merchant_option(parser)


def show(ctx: Context, args: argparse.Namespace) -> None:
    reply = ctx.client().three_ds.get_challenge(args.payment_id)
    c = reply.challenge
    ctx.out.result(
        reply,
        lambda: fields(
            [
                ("challenge", c.id),
                ("status", views.challenge_status(c.status)),
                ("acs", c.acs_url),
                ("created", when(c.create_time)),
                ("expires", when(c.expire_time)),
                ("3-D Secure", views.three_ds(reply.three_ds)),
            ]
        ),
    )


def answer(ctx: Context, args: argparse.Namespace) -> None:
    client = ctx.client()
    payment = client.payments.get(args.payment_id)
    if not payment.next_action.HasField("three_ds_challenge"):
        raise UsageError(f"{payment.id} has no 3-D Secure challenge waiting (it is {views.status(payment)})")
    action, _ = ACTIONS[args.acs_action]
    done = client.three_ds.answer_challenge(payment, action)
    ctx.out.result(done, lambda: views.payment_lines(done))


def policy_lines(policy: ThreeDSPolicy) -> list[str]:
    thresholds = ", ".join(f"above {format_minor(t.amount_minor, t.currency_code)}" for t in policy.thresholds)
    return fields(
        [
            ("merchant", policy.merchant_id),
            ("mode", enum_label(ThreeDSPolicyMode, policy.mode)),
            ("thresholds", thresholds),
            ("updated", when(policy.update_time)),
        ]
    )


def show_policy(ctx: Context, args: argparse.Namespace) -> None:
    policy = ctx.client().three_ds.get_policy(merchant_id=args.merchant)
    ctx.out.result(policy, lambda: policy_lines(policy))


def set_policy(ctx: Context, args: argparse.Namespace) -> None:
    thresholds: dict[str, int] = {}
    for currency, amount in key_values(args.threshold, "--threshold").items():
        try:
            thresholds[currency.upper()] = parse_amount(amount, currency)
        except AmountError as error:
            raise UsageError(f"--threshold {currency}={amount}: {error}") from None
    policy = ctx.client().three_ds.set_policy(
        parse_enum(ThreeDSPolicyMode, args.mode), thresholds=thresholds, merchant_id=args.merchant
    )
    ctx.out.result(policy, lambda: policy_lines(policy))
