"""``paysim merchants …``: register a merchant, read and change it; admins list and (de)activate."""

from __future__ import annotations

import argparse

from paysim_client.types import Merchant, RegisterMerchantResponse
from paysim_proto.v1.merchant_pb2 import UNKNOWN_CARDS_APPROVE, UNKNOWN_CARDS_REFUSE, ListMerchantsResponse

from paysim_cli.commands._common import add_list_options, collect, more, read_password
from paysim_cli.commands.session import remember
from paysim_cli.context import Context
from paysim_cli.money import format_minor
from paysim_cli.output import fields, table, when
from paysim_cli.registrar import Registrar


def register(registrar: Registrar) -> None:
    group = registrar.group("merchants", "register a merchant, show and change it (admins: list, activate, deactivate)")
    parser = group.command(
        "register",
        "register a merchant and its owner account (no credentials needed)",
        register_merchant,
        description=(
            "Register a merchant with its owner account; the password is asked for twice.\n\n"
            "  paysim merchants register --name 'Acme Books' --email owner@acme.test --login"
        ),
    )
    parser.add_argument("--name", required=True, help="the merchant's name (unique)")
    parser.add_argument("--email", required=True, help="the owner's email: the login")
    parser.add_argument("--full-name", default="", help="the owner's name")
    parser.add_argument("--currency", default="", help="the default currency (default USD)")
    parser.add_argument("--support-email", default="")
    parser.add_argument("--password-stdin", action="store_true", help="read the owner's password from standard input")
    parser.add_argument("--login", action="store_true", help="log in as the owner right away and remember the session")

    parser = group.command("get", "show a merchant (your own; admins name one)", get)
    parser.add_argument("merchant_id", nargs="?", default="", metavar="MERCHANT_ID")

    parser = group.command("update", "change a merchant's name, support email, currency or fees", update)
    parser.add_argument("merchant_id", nargs="?", default="", metavar="MERCHANT_ID")
    parser.add_argument("--name")
    parser.add_argument("--support-email")
    parser.add_argument("--currency", help="the default currency")
    parser.add_argument("--fee-bps", type=int, help="the fee's percentage in basis points (290 = 2.90 %%)")
    parser.add_argument("--fee-fixed-minor", type=int, help="the fee's fixed part in minor units")
    parser.add_argument(
        "--unknown-cards",
        choices=["approve", "refuse"],
        help="what valid card numbers outside the test catalogue do (default approve)",
    )

    parser = group.command("list", "every merchant (admins)", list_merchants)
    add_list_options(parser)

    for name, handler, what in (
        ("activate", activate, "let a deactivated merchant's credentials in again (admins)"),
        ("deactivate", deactivate, "refuse a merchant's credentials until activated (admins)"),
    ):
        group.command(name, what, handler).add_argument("merchant_id", metavar="MERCHANT_ID")


_UNKNOWN_CARDS = {"approve": UNKNOWN_CARDS_APPROVE, "refuse": UNKNOWN_CARDS_REFUSE}


def merchant_lines(m: Merchant) -> list[str]:
    fee = f"{m.fee_percent_bps / 100:.2f} % + {format_minor(m.fee_fixed_minor, m.default_currency_code)}"
    return fields(
        [
            ("merchant", m.id),
            ("name", m.name),
            ("active", "yes" if m.active else "no (deactivated)"),
            ("currency", m.default_currency_code),
            ("fee", fee),
            ("cards", "test cards only" if m.unknown_cards == UNKNOWN_CARDS_REFUSE else "any valid number"),
            ("support", m.support_email),
            ("created", when(m.create_time)),
        ]
    )


def register_merchant(ctx: Context, args: argparse.Namespace) -> None:
    password = read_password(args.password_stdin, confirm=True, prompt=f"Password for {args.email}: ")
    reply: RegisterMerchantResponse = ctx.anonymous().merchants.register(
        name=args.name,
        owner_email=args.email,
        owner_password=password,
        owner_full_name=args.full_name,
        support_email=args.support_email,
        default_currency_code=args.currency.upper(),
    )
    if args.login:
        ctx.login(args.email, password)
        remember(ctx, {"email": args.email}, keep_tokens=True)

    def human() -> list[str]:
        lines = [f"registered merchant {reply.merchant.id} ({reply.merchant.name}), owner {reply.owner.email}"]
        if args.login:
            lines.append(f"logged in to {ctx.target} as {reply.owner.email}")
        else:
            lines.append(f"next: paysim login --target {ctx.target} --email {reply.owner.email}")
        return lines

    ctx.out.result(reply, human)


def get(ctx: Context, args: argparse.Namespace) -> None:
    merchant = ctx.client().merchants.get(args.merchant_id)
    ctx.out.result(merchant, lambda: merchant_lines(merchant))


def update(ctx: Context, args: argparse.Namespace) -> None:
    merchant = ctx.client().merchants.update(
        args.merchant_id,
        name=args.name,
        support_email=args.support_email,
        default_currency_code=args.currency.upper() if args.currency else None,
        fee_percent_bps=args.fee_bps,
        fee_fixed_minor=args.fee_fixed_minor,
        unknown_cards=_UNKNOWN_CARDS.get(args.unknown_cards),
    )
    ctx.out.result(merchant, lambda: merchant_lines(merchant))


def list_merchants(ctx: Context, args: argparse.Namespace) -> None:
    client = ctx.client()
    merchants, token = collect(
        lambda size, page_token: client.merchants.list(page_size=size, page_token=page_token),
        args.limit,
        args.page_token,
    )
    rows = [
        [m.id, m.name, "yes" if m.active else "no", m.default_currency_code, when(m.create_time)] for m in merchants
    ]
    ctx.out.result(
        ListMerchantsResponse(merchants=merchants, next_page_token=token),
        lambda: [*table(["MERCHANT", "NAME", "ACTIVE", "CURRENCY", "CREATED"], rows), *more(token)],
    )


def activate(ctx: Context, args: argparse.Namespace) -> None:
    merchant = ctx.client().merchants.activate(args.merchant_id)
    ctx.out.result(merchant, lambda: merchant_lines(merchant))


def deactivate(ctx: Context, args: argparse.Namespace) -> None:
    merchant = ctx.client().merchants.deactivate(args.merchant_id)
    ctx.out.result(merchant, lambda: merchant_lines(merchant))
