"""``paysim webhooks …``: endpoints that receive signed events, their secrets and deliveries."""

from __future__ import annotations

import argparse

from paysim_client.types import WebhookDelivery, WebhookDeliveryState, WebhookEndpoint
from paysim_proto.v1.webhook_pb2 import ListWebhookDeliveriesResponse, ListWebhookEndpointsResponse

from paysim_cli.commands._common import add_list_options, add_merchant_option, collect, duration, more
from paysim_cli.context import Context
from paysim_cli.output import enum_choices, enum_label, fields, parse_enum, table, when
from paysim_cli.registrar import Registrar


def register(registrar: Registrar) -> None:
    group = registrar.group("webhooks", "endpoints that receive signed payment events; their deliveries")
    parser = group.command(
        "create",
        "create an endpoint; its signing secret is printed this once",
        create,
        description=(
            "Create a webhook endpoint: paysim POSTs the events it wants there, signed with the\n"
            "secret printed now (and never again). The URL's host must resolve now; a receiver on\n"
            "the server's own machine (loopback) is allowed by default.\n\n"
            "  paysim webhooks create --url http://127.0.0.1:8000/hooks --event payment.captured\n"
            "  paysim webhooks create --url http://localhost:8000/hooks     # every event type"
        ),
    )
    parser.add_argument("--url", required=True, help="http or https URL to POST events to")
    parser.add_argument(
        "--event", action="append", metavar="TYPE", help="an event type to send (repeatable; default *)"
    )
    parser.add_argument("--description", default="")
    parser.add_argument("--disabled", action="store_true", help="create it without sending anything yet")
    add_merchant_option(parser)

    parser = group.command("list", "the merchant's endpoints, newest first", list_endpoints)
    add_merchant_option(parser)
    add_list_options(parser)

    parser = group.command("get", "show an endpoint", get)
    parser.add_argument("endpoint_id", metavar="ENDPOINT_ID", help="whe_…")

    parser = group.command("update", "change an endpoint's URL, event types, description, or enable/disable it", update)
    parser.add_argument("endpoint_id", metavar="ENDPOINT_ID")
    parser.add_argument("--url")
    parser.add_argument("--event", action="append", metavar="TYPE", help="replaces the event types (repeatable)")
    parser.add_argument("--description")
    state = parser.add_mutually_exclusive_group()
    state.add_argument("--enable", dest="enabled", action="store_const", const=True, default=None)
    state.add_argument("--disable", dest="enabled", action="store_const", const=False)

    parser = group.command("delete", "delete an endpoint with its deliveries", delete)
    parser.add_argument("endpoint_id", metavar="ENDPOINT_ID")

    parser = group.command("rotate-secret", "replace the signing secret; the new one is printed this once", rotate)
    parser.add_argument("endpoint_id", metavar="ENDPOINT_ID")
    parser.add_argument(
        "--overlap", type=duration, metavar="TIME", help="how long the old secret keeps signing (default: the server's)"
    )

    parser = group.command("deliveries", "the deliveries, newest first, with their attempts", deliveries)
    parser.add_argument("--endpoint", default="", metavar="ENDPOINT_ID")
    parser.add_argument("--event-id", default="", metavar="EVENT_ID")
    parser.add_argument("--state", choices=enum_choices(WebhookDeliveryState), help="pending, delivered or dead")
    add_merchant_option(parser)
    add_list_options(parser)

    parser = group.command("redeliver", "send a delivery's event again (same event id, new delivery)", redeliver)
    parser.add_argument("delivery_id", metavar="DELIVERY_ID", help="whd_…")


def endpoint_lines(e: WebhookEndpoint, secret: str = "") -> list[str]:
    enabled = "yes" if e.enabled else f"no{' (' + e.disabled_reason + ')' if e.disabled_reason else ''}"
    overlap = when(e.previous_secret_expire_time)
    return fields(
        [
            ("endpoint", e.id),
            ("url", e.url),
            ("events", ", ".join(e.event_types)),
            ("enabled", enabled),
            ("description", e.description),
            ("secret", secret),
            ("old secret", f"signs too until {overlap}" if overlap else ""),
            ("created", when(e.create_time)),
        ]
    )


def _secret_note(secret: str) -> list[str]:
    return [
        "",
        "The secret is shown only now. Check each delivery's Paysim-Signature header with it,",
        f"e.g. paysim_client.webhooks.verify(body, header, {secret[:10]!r}…).",
    ]


def _last_attempt(d: WebhookDelivery) -> str:
    if not d.attempts:
        return ""
    last = d.attempts[-1]
    return f"{last.http_status or last.error} in {last.duration_ms} ms"


def delivery_lines(d: WebhookDelivery) -> list[str]:
    return fields(
        [
            ("delivery", d.id),
            ("state", enum_label(WebhookDeliveryState, d.state)),
            ("event", f"{d.event_type} {d.event_id}"),
            ("payment", d.payment_id),
            ("endpoint", d.endpoint_id),
            ("redelivers", d.redelivery_of),
            ("attempts", str(d.attempt_count)),
            ("next attempt", when(d.next_attempt_time)),
        ]
    )


def create(ctx: Context, args: argparse.Namespace) -> None:
    reply = ctx.client().webhooks.create(
        args.url,
        event_types=args.event or ["*"],
        description=args.description,
        enabled=False if args.disabled else None,
        merchant_id=args.merchant,
    )
    ctx.out.result(reply, lambda: [*endpoint_lines(reply.webhook_endpoint, reply.secret), *_secret_note(reply.secret)])


def list_endpoints(ctx: Context, args: argparse.Namespace) -> None:
    client = ctx.client()
    endpoints, token = collect(
        lambda size, page_token: client.webhooks.list(merchant_id=args.merchant, page_size=size, page_token=page_token),
        args.limit,
        args.page_token,
    )
    rows = [
        [e.id, e.url, ", ".join(e.event_types), "yes" if e.enabled else "no", when(e.create_time)] for e in endpoints
    ]

    def human() -> list[str]:
        if not endpoints:
            return ["no webhook endpoints"]
        return [*table(["ENDPOINT", "URL", "EVENTS", "ENABLED", "CREATED"], rows), *more(token)]

    ctx.out.result(ListWebhookEndpointsResponse(webhook_endpoints=endpoints, next_page_token=token), human)


def get(ctx: Context, args: argparse.Namespace) -> None:
    endpoint = ctx.client().webhooks.get(args.endpoint_id)
    ctx.out.result(endpoint, lambda: endpoint_lines(endpoint))


def update(ctx: Context, args: argparse.Namespace) -> None:
    endpoint = ctx.client().webhooks.update(
        args.endpoint_id, url=args.url, event_types=args.event, enabled=args.enabled, description=args.description
    )
    ctx.out.result(endpoint, lambda: endpoint_lines(endpoint))


def delete(ctx: Context, args: argparse.Namespace) -> None:
    endpoint = ctx.client().webhooks.delete(args.endpoint_id)
    ctx.out.result(endpoint, lambda: [f"deleted {endpoint.id} ({endpoint.url}) and its deliveries"])


def rotate(ctx: Context, args: argparse.Namespace) -> None:
    overlap = None if args.overlap is None else round(args.overlap)
    reply = ctx.client().webhooks.rotate_secret(args.endpoint_id, overlap_seconds=overlap)
    ctx.out.result(reply, lambda: [*endpoint_lines(reply.webhook_endpoint, reply.secret), *_secret_note(reply.secret)])


def deliveries(ctx: Context, args: argparse.Namespace) -> None:
    client = ctx.client()
    state = parse_enum(WebhookDeliveryState, args.state) if args.state else None
    found, token = collect(
        lambda size, page_token: client.webhooks.list_deliveries(
            webhook_endpoint_id=args.endpoint,
            event_id=args.event_id,
            state=state or WebhookDeliveryState.WEBHOOK_DELIVERY_STATE_UNSPECIFIED,
            merchant_id=args.merchant,
            page_size=size,
            page_token=page_token,
        ),
        args.limit,
        args.page_token,
    )
    rows = [
        [
            d.id,
            enum_label(WebhookDeliveryState, d.state),
            d.event_type,
            d.payment_id,
            str(d.attempt_count),
            _last_attempt(d),
            when(d.create_time),
        ]
        for d in found
    ]

    def human() -> list[str]:
        if not found:
            return ["no deliveries"]
        headers = ["DELIVERY", "STATE", "EVENT", "PAYMENT", "ATTEMPTS", "LAST ANSWER", "CREATED"]
        return [*table(headers, rows, right=[4]), *more(token)]

    ctx.out.result(ListWebhookDeliveriesResponse(webhook_deliveries=found, next_page_token=token), human)


def redeliver(ctx: Context, args: argparse.Namespace) -> None:
    delivery = ctx.client().webhooks.redeliver(args.delivery_id)
    ctx.out.result(delivery, lambda: delivery_lines(delivery))
