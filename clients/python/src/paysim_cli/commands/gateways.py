"""``paysim gateways …``: which gateways a merchant's payments are routed to, in what order."""

from __future__ import annotations

import argparse

from paysim_client.types import GatewayConfig
from paysim_proto.v1.merchant_pb2 import ListGatewayConfigsResponse

from paysim_cli.commands._common import add_merchant_option, key_values
from paysim_cli.context import Context
from paysim_cli.output import fields, table, when
from paysim_cli.registrar import Registrar

GATEWAYS = ("stripe", "paypal", "razorpay", "simulator")


def register(registrar: Registrar) -> None:
    group = registrar.group("gateways", "configure the gateways a merchant's payments are routed to")
    parser = group.command("list", "the configurations in routing order (none: simulator alone)", list_configs)
    add_merchant_option(parser)
    parser = group.command(
        "set",
        "create or replace one gateway's configuration",
        set_config,
        description=(
            "Create or replace a gateway's configuration: all of it, a setting left out is back at\n"
            "its default. Enabled gateways are tried by priority, lowest first.\n\n"
            "  paysim gateways set stripe --priority 1 --setting timeout_ms=2000 --setting latency_ms=150\n"
            "  paysim gateways set simulator --priority 2 --disabled"
        ),
    )
    parser.add_argument("gateway", metavar="GATEWAY", help=", ".join(GATEWAYS))
    parser.add_argument("--priority", type=int, required=True, help="1 to 100, 1 tried first")
    parser.add_argument("--disabled", action="store_true", help="keep the configuration but skip the gateway")
    parser.add_argument("--setting", action="append", metavar="KEY=VALUE", help="timeout_ms, latency_ms (repeatable)")
    add_merchant_option(parser)
    parser = group.command("delete", "delete one gateway's configuration", delete)
    parser.add_argument("gateway", metavar="GATEWAY")
    add_merchant_option(parser)


def _settings(config: GatewayConfig) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(config.settings.items()))


def config_lines(config: GatewayConfig) -> list[str]:
    return fields(
        [
            ("gateway", config.gateway),
            ("enabled", "yes" if config.enabled else "no"),
            ("priority", str(config.priority)),
            ("settings", _settings(config) or "defaults"),
            ("merchant", config.merchant_id),
            ("updated", when(config.update_time)),
        ]
    )


def list_configs(ctx: Context, args: argparse.Namespace) -> None:
    configs = list(ctx.client().merchants.gateway_configs.list(merchant_id=args.merchant))
    rows = [[str(c.priority), c.gateway, "yes" if c.enabled else "no", _settings(c)] for c in configs]

    def human() -> list[str]:
        if not configs:
            return ["no gateway configured: payments go to simulator alone"]
        return table(["PRIORITY", "GATEWAY", "ENABLED", "SETTINGS"], rows, right=[0])

    ctx.out.result(ListGatewayConfigsResponse(gateway_configs=configs), human)


def set_config(ctx: Context, args: argparse.Namespace) -> None:
    config = ctx.client().merchants.gateway_configs.set(
        args.gateway,
        priority=args.priority,
        enabled=not args.disabled,
        settings=key_values(args.setting, "--setting"),
        merchant_id=args.merchant,
    )
    ctx.out.result(config, lambda: config_lines(config))


def delete(ctx: Context, args: argparse.Namespace) -> None:
    config = ctx.client().merchants.gateway_configs.delete(args.gateway, merchant_id=args.merchant)
    ctx.out.result(config, lambda: [f"deleted the {config.gateway} configuration (priority {config.priority})"])
