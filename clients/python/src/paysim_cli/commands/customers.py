"""``paysim customers …``: a merchant's customers (``cus_…``), whom payments can name."""

from __future__ import annotations

import argparse

from paysim_client.types import Customer
from paysim_proto.v1.customer_pb2 import ListCustomersResponse

from paysim_cli.commands._common import add_list_options, add_merchant_option, collect, key_values, more
from paysim_cli.context import Context
from paysim_cli.output import fields, table, when
from paysim_cli.registrar import Registrar


def register(registrar: Registrar) -> None:
    group = registrar.group("customers", "create, show, list, change and delete customers")
    parser = group.command("create", "create a customer", create)
    _customer_options(parser)
    parser.add_argument(
        "--test-clock", default="", metavar="CLOCK_ID", help="live on this test clock (its payments too)"
    )
    add_merchant_option(parser)
    parser = group.command("get", "show a customer", get)
    parser.add_argument("customer_id", metavar="CUSTOMER_ID")
    parser = group.command("list", "the merchant's customers", list_customers)
    parser.add_argument("--email", default="", help="only the customers with this email")
    add_merchant_option(parser)
    add_list_options(parser)
    parser = group.command("update", "change the fields given (an empty value clears one)", update)
    parser.add_argument("customer_id", metavar="CUSTOMER_ID")
    _customer_options(parser, defaults=None)
    parser.add_argument("--clear-metadata", action="store_true", help="remove all metadata (before any --metadata)")
    parser = group.command("delete", "delete a customer", delete)
    parser.add_argument("customer_id", metavar="CUSTOMER_ID")


def _customer_options(p: argparse.ArgumentParser, defaults: str | None = "") -> None:
    p.add_argument("--email", default=defaults)
    p.add_argument("--name", default=defaults)
    p.add_argument("--phone", default=defaults)
    p.add_argument("--metadata", action="append", metavar="KEY=VALUE", help="repeatable")


def customer_lines(c: Customer) -> list[str]:
    return fields(
        [
            ("customer", c.id),
            ("email", c.email),
            ("name", c.name),
            ("phone", c.phone),
            *((f"metadata.{k}", v) for k, v in sorted(c.metadata.items())),
            ("user", c.user_id),
            ("test clock", c.test_clock_id),
            ("created", when(c.create_time)),
        ]
    )


def create(ctx: Context, args: argparse.Namespace) -> None:
    customer = ctx.client().customers.create(
        email=args.email,
        name=args.name,
        phone=args.phone,
        metadata=key_values(args.metadata, "--metadata"),
        merchant_id=args.merchant,
        test_clock_id=args.test_clock,
    )
    ctx.out.result(customer, lambda: customer_lines(customer))


def get(ctx: Context, args: argparse.Namespace) -> None:
    customer = ctx.client().customers.get(args.customer_id)
    ctx.out.result(customer, lambda: customer_lines(customer))


def list_customers(ctx: Context, args: argparse.Namespace) -> None:
    client = ctx.client()
    customers, token = collect(
        lambda size, page_token: client.customers.list(
            email=args.email, merchant_id=args.merchant, page_size=size, page_token=page_token
        ),
        args.limit,
        args.page_token,
    )
    rows = [[c.id, c.email, c.name, c.phone, when(c.create_time)] for c in customers]
    ctx.out.result(
        ListCustomersResponse(customers=customers, next_page_token=token),
        lambda: [*table(["CUSTOMER", "EMAIL", "NAME", "PHONE", "CREATED"], rows), *more(token)],
    )


def update(ctx: Context, args: argparse.Namespace) -> None:
    metadata = key_values(args.metadata, "--metadata") if args.metadata or args.clear_metadata else None
    if metadata is not None and not args.clear_metadata:
        # --metadata adds to what is there; the server replaces the whole map.
        metadata = {**ctx.client().customers.get(args.customer_id).metadata, **metadata}
    customer = ctx.client().customers.update(
        args.customer_id, email=args.email, name=args.name, phone=args.phone, metadata=metadata
    )
    ctx.out.result(customer, lambda: customer_lines(customer))


def delete(ctx: Context, args: argparse.Namespace) -> None:
    ctx.client().customers.delete(args.customer_id)
    ctx.out.result({"customer_id": args.customer_id, "deleted": True}, lambda: [f"deleted {args.customer_id}"])
