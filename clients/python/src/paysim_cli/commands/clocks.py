"""``paysim clocks …``: test clocks (``clk_…``), time a test controls; payments and customers
created with ``--test-clock`` live on one."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from paysim_proto.v1.clock_pb2 import ListTestClocksResponse, TestClock, TestClockStatus

from paysim_cli.commands._common import add_merchant_option
from paysim_cli.context import Context
from paysim_cli.output import enum_label, fields, table, when
from paysim_cli.registrar import Registrar


def register(registrar: Registrar) -> None:
    group = registrar.group("clocks", "test clocks: create one at a frozen time, advance it, list, delete")
    parser = group.command("create", "create a test clock standing at a time", create)
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("--at", type=_moment, metavar="TIME", help="its time, e.g. 2026-03-01T09:30 (default: now)")
    add_merchant_option(parser)
    parser = group.command("get", "show a test clock", get)
    parser.add_argument("test_clock_id", metavar="CLOCK_ID")
    parser = group.command("list", "the merchant's test clocks, newest first", list_clocks)
    add_merchant_option(parser)
    parser = group.command(
        "advance", "move a test clock forward (at most 60 days) and wait until what fell due ran", advance
    )
    parser.add_argument("test_clock_id", metavar="CLOCK_ID")
    parser.add_argument("--to", type=_moment, required=True, metavar="TIME", help="the new time")
    parser = group.command("delete", "delete a test clock nothing lives on", delete)
    parser.add_argument("test_clock_id", metavar="CLOCK_ID")


def _moment(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time such as 2026-03-01 or 2026-03-01T09:30") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def clock_lines(c: TestClock) -> list[str]:
    return fields(
        [
            ("test clock", c.id),
            ("name", c.name),
            ("time", when(c.frozen_time)),
            ("status", enum_label(TestClockStatus, c.status)),
            ("advancing to", when(c.advancing_to) if c.HasField("advancing_to") else ""),
        ]
    )


def create(ctx: Context, args: argparse.Namespace) -> None:
    clock = ctx.client().test_clocks.create(args.name, args.at or datetime.now(UTC), merchant_id=args.merchant)
    ctx.out.result(clock, lambda: clock_lines(clock))


def get(ctx: Context, args: argparse.Namespace) -> None:
    clock = ctx.client().test_clocks.get(args.test_clock_id)
    ctx.out.result(clock, lambda: clock_lines(clock))


def list_clocks(ctx: Context, args: argparse.Namespace) -> None:
    clocks = list(ctx.client().test_clocks.list(merchant_id=args.merchant))
    rows = [[c.id, c.name, when(c.frozen_time), enum_label(TestClockStatus, c.status)] for c in clocks]
    ctx.out.result(
        ListTestClocksResponse(test_clocks=clocks), lambda: table(["TEST CLOCK", "NAME", "TIME", "STATUS"], rows)
    )


def advance(ctx: Context, args: argparse.Namespace) -> None:
    clock = ctx.client().test_clocks.advance(args.test_clock_id, args.to)
    ctx.out.result(clock, lambda: clock_lines(clock))


def delete(ctx: Context, args: argparse.Namespace) -> None:
    ctx.client().test_clocks.delete(args.test_clock_id)
    ctx.out.result({"test_clock_id": args.test_clock_id, "deleted": True}, lambda: [f"deleted {args.test_clock_id}"])
