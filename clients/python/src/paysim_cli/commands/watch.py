"""``paysim watch``: payment events live, as they are committed, across reconnections.

The SDK's watcher keeps the stream's cursor and, when the server restarts or the connection
breaks, opens a new stream from it: nothing is missed or shown twice. When the command stops
(Ctrl-C, ``--count``) it says where it stopped, so ``--after`` picks up from there later.
"""

from __future__ import annotations

import argparse
import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message
from paysim_client import errors
from paysim_proto.v1.payment_pb2 import PaymentEvent

from paysim_cli.commands._common import add_merchant_option
from paysim_cli.context import Context
from paysim_cli.failures import Interrupted
from paysim_cli.money import format_minor
from paysim_cli.output import to_json_value, when
from paysim_cli.registrar import Registrar

# Remember the currency of this many payments (from their creation event or a lookup) for their amounts.
CURRENCY_MEMORY = 10_000
# A connection silent this long (the server sends a heartbeat every 15 s) is taken for dead.
STALL_SECONDS = 45.0
COLUMNS = "{seq:>8}  {time:<20}  {type:<36}  {payment:<26}  {detail}"


def register(registrar: Registrar) -> None:
    parser = registrar.command(
        "watch",
        "payment events live as they happen (resumes by itself after a reconnect)",
        watch,
        description=(
            "Show payment events as they are committed, one line each, until Ctrl-C (exit 130)\n"
            "or --count N events (exit 0). After a server restart or a broken connection it\n"
            "continues from its last cursor: nothing is missed or shown twice. With --json, one\n"
            "JSON document per event and line.\n\n"
            "  paysim watch\n"
            "  paysim watch --event payment.captured --event refund.succeeded\n"
            "  paysim watch --after 1042          # first everything after sequence number 1042"
        ),
    )
    parser.add_argument("--payment", default="", metavar="PAYMENT_ID", help="only this payment's events")
    parser.add_argument("--event", action="append", metavar="TYPE", help="only events of this type (repeatable)")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--after", type=int, metavar="SEQ", help="replay the events after this cursor first")
    start.add_argument("--from-start", action="store_true", help="replay the whole history first")
    parser.add_argument("--count", type=int, metavar="N", help="stop after N events")
    add_merchant_option(parser)


class Lines:
    """One aligned line per event, amounts in their payment's currency: from its creation event,
    else asked once of the server (``lookup``)."""

    def __init__(self, lookup: Callable[[str], str]) -> None:
        self._currencies: OrderedDict[str, str] = OrderedDict()
        self._lookup = lookup

    def header(self) -> str:
        return COLUMNS.format(seq="SEQUENCE", time="TIME", type="EVENT", payment="PAYMENT", detail="DETAIL").rstrip()

    def line(self, seq: int, event: PaymentEvent) -> str:
        return COLUMNS.format(
            seq=seq,
            time=when(event.create_time),
            type=event.type,
            payment=event.payment_id,
            detail=self._detail(event),
        ).rstrip()

    def _currency(self, payment_id: str, created: str) -> str:
        currency = created or self._currencies.get(payment_id) or self._lookup(payment_id)
        self._currencies[payment_id] = currency
        if len(self._currencies) > CURRENCY_MEMORY:
            self._currencies.popitem(last=False)
        return currency

    def _detail(self, event: PaymentEvent) -> str:
        """The amount, decline code, reason and refund of the event's data, those it has."""
        kind = event.WhichOneof("data")
        if kind is None:  # a type newer than this command line
            return ""
        data: Message = getattr(event, kind)
        values: dict[str, Any] = {field.name: value for field, value in data.ListFields()}
        parts = []
        amount = values.get("amount_minor")
        if isinstance(amount, int):
            currency = self._currency(event.payment_id, values.get("currency_code", ""))
            parts.append(format_minor(amount, currency) if currency else f"{amount} (minor units)")
        decline = values.get("decline")
        if decline is not None and decline.code:
            parts.append(decline.code)
        parts += [values[key] for key in ("reason", "refund_id") if values.get(key)]
        return "  ".join(parts)


def watch(ctx: Context, args: argparse.Namespace) -> None:
    client = ctx.client()

    def currency_of(payment_id: str) -> str:
        try:
            return client.payments.get(payment_id).currency_code
        except errors.RpcError:
            return ""  # amounts then show in minor units

    lines = Lines(currency_of)
    shown = 0
    watcher = client.payments.watch(
        payment_id=args.payment,
        merchant_id=args.merchant,
        event_types=args.event or (),
        after_seq=0 if args.from_start else args.after,
        stall_timeout=STALL_SECONDS,
    )
    # On stderr in both modes: stdout stays the events alone.
    say = ctx.out.warn
    interrupted = False
    try:
        with watcher:
            say(f"watching payment events at {ctx.target} after sequence {watcher.cursor} (Ctrl-C to stop)")
            if not ctx.out.json_mode:
                ctx.out.line(lines.header())
            reconnects = 0
            for event in watcher:
                if watcher.reconnects != reconnects:
                    reconnects = watcher.reconnects
                    say(f"reconnected ({reconnects}), resumed after the last event shown")
                seq = watcher.cursor or 0
                if ctx.out.json_mode:
                    document = {"seq": str(seq), "event": to_json_value(event)}
                    ctx.out.line(json.dumps(document, ensure_ascii=False))
                else:
                    ctx.out.line(lines.line(seq, event))
                shown += 1
                if args.count is not None and shown >= args.count:
                    break
    except KeyboardInterrupt:
        interrupted = True  # how a watch usually ends: say where it stopped, then exit 130
    say(f"stopped after sequence {watcher.cursor}: `paysim watch --after {watcher.cursor}` continues from there")
    if interrupted:
        raise Interrupted
