"""``paysim disputes …``: list and show disputes, answer one with evidence, or accept it."""

from __future__ import annotations

import argparse

from paysim_client.types import Dispute, DisputeKind, DisputeReason, DisputeStatus
from paysim_proto.v1.dispute_pb2 import DisputeEvidence, ListDisputesResponse

from paysim_cli.commands._common import add_list_options, add_merchant_option, collect, more
from paysim_cli.context import Context
from paysim_cli.failures import UsageError
from paysim_cli.money import format_minor
from paysim_cli.output import enum_choices, enum_label, fields, parse_enum, table, when
from paysim_cli.registrar import Registrar

# Each text field of the evidence is an option of `paysim disputes evidence`: --product-description …
EVIDENCE_FIELDS = tuple(f.name for f in DisputeEvidence.DESCRIPTOR.fields)


def register(registrar: Registrar) -> None:
    group = registrar.group("disputes", "the merchant's disputes: list, show, answer with evidence, accept")
    parser = group.command("list", "the disputes, newest first", list_disputes)
    parser.add_argument("--payment", default="", metavar="PAYMENT_ID", help="only the dispute of this payment")
    parser.add_argument(
        "--status", action="append", type=_status, metavar="STATUS", help=f"one of {', '.join(_statuses())}"
    )
    add_merchant_option(parser)
    add_list_options(parser)

    parser = group.command("show", "show a dispute", show)
    parser.add_argument("dispute_id", metavar="DISPUTE_ID", help="dp_…")

    parser = group.command(
        "evidence",
        "answer a dispute with evidence; it goes under review",
        evidence,
        description=(
            "Submit evidence (the text fields of Stripe's evidence object). The review decides the\n"
            "dispute 5 minutes later: 'winning_evidence' in --uncategorized-text wins it, anything\n"
            "else loses it. For instance, with the id of a dispute from `paysim disputes list`:\n"
            "paysim disputes evidence DISPUTE_ID --product-description 'A teapot' --uncategorized-text winning_evidence"
        ),
    )
    parser.add_argument("dispute_id", metavar="DISPUTE_ID")
    for name in EVIDENCE_FIELDS:
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default="", metavar="TEXT")

    parser = group.command("accept", "accept a dispute: a chargeback is lost, a warning closed", accept)
    parser.add_argument("dispute_id", metavar="DISPUTE_ID")


def _statuses() -> list[str]:
    return enum_choices(DisputeStatus)


def _status(text: str) -> int:
    try:
        return parse_enum(DisputeStatus, text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def dispute_lines(d: Dispute) -> list[str]:
    def money(amount: int) -> str:
        return format_minor(amount, d.currency_code)

    given = [(f"evidence.{f.name}", value) for f, value in d.evidence.ListFields()]
    return fields(
        [
            ("dispute", d.id),
            ("status", enum_label(DisputeStatus, d.status)),
            ("kind", enum_label(DisputeKind, d.kind)),
            ("reason", enum_label(DisputeReason, d.reason)),
            ("payment", d.payment_id),
            ("amount", money(d.amount_minor)),
            (
                "withdrawn",
                f"{money(d.withdrawn_amount_minor)} + fee {money(d.fee_amount_minor)}" if d.fee_amount_minor else "",
            ),
            ("reinstated", money(d.reinstated_amount_minor) if d.reinstated_amount_minor else ""),
            ("evidence due", when(d.evidence_due_by) if not d.close_reason else ""),
            ("review ends", when(d.review_due_by)),
            ("closed", d.close_reason),
            ("refundable", "yes" if d.payment_refundable else "no"),
            *given,
            ("created", when(d.create_time)),
        ]
    )


def list_disputes(ctx: Context, args: argparse.Namespace) -> None:
    client = ctx.client()
    statuses = list(args.status or ())
    found, token = collect(
        lambda size, page_token: client.disputes.list(
            payment_id=args.payment, statuses=statuses, merchant_id=args.merchant, page_size=size, page_token=page_token
        ),
        args.limit,
        args.page_token,
    )
    rows = [
        [
            d.id,
            enum_label(DisputeStatus, d.status),
            enum_label(DisputeReason, d.reason),
            format_minor(d.amount_minor, d.currency_code),
            d.payment_id,
            when(d.evidence_due_by),
        ]
        for d in found
    ]

    def human() -> list[str]:
        if not found:
            return ["no disputes"]
        return [
            *table(["DISPUTE", "STATUS", "REASON", "AMOUNT", "PAYMENT", "EVIDENCE DUE"], rows, right=[3]),
            *more(token),
        ]

    ctx.out.result(ListDisputesResponse(disputes=found, next_page_token=token), human)


def show(ctx: Context, args: argparse.Namespace) -> None:
    found = ctx.client().disputes.get(args.dispute_id)
    ctx.out.result(found, lambda: dispute_lines(found))


def evidence(ctx: Context, args: argparse.Namespace) -> None:
    given = {name: getattr(args, name) for name in EVIDENCE_FIELDS if getattr(args, name)}
    if not given:
        options = ", ".join(f"--{n.replace('_', '-')}" for n in EVIDENCE_FIELDS[:3])
        raise UsageError(f"give at least one evidence field ({options} …)")
    answered = ctx.client().disputes.submit_evidence(args.dispute_id, **given)
    ctx.out.result(answered, lambda: dispute_lines(answered))


def accept(ctx: Context, args: argparse.Namespace) -> None:
    accepted = ctx.client().disputes.accept(args.dispute_id)
    ctx.out.result(accepted, lambda: dispute_lines(accepted))
