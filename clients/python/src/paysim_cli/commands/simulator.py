"""``paysim simulator …``: test scenarios, gateway outages, scripted outcomes, circuit breakers
(chaos profiles and the reset: simulator_chaos.py).

What a merchant sets changes its own payments only; admins may act platform-wide.
"""

from __future__ import annotations

import argparse

from google.protobuf.duration_pb2 import Duration
from paysim_client.types import BreakerState, GatewayFaults, OutageMode, ScenarioTrigger, ScriptedOutcomeKind
from paysim_proto.v1.simulator_pb2 import ClearGatewayFaultsResponse, ListGatewayFaultsResponse, ListScenariosResponse

from paysim_cli.commands import simulator_chaos
from paysim_cli.commands._common import add_merchant_option, duration
from paysim_cli.context import Context
from paysim_cli.output import enum_choices, enum_label, fields, parse_enum, table, when
from paysim_cli.registrar import Registrar


def register(registrar: Registrar) -> None:
    group = registrar.group(
        "simulator", "test scenarios, gateway outages, scripted outcomes, chaos profiles, circuit breakers, reset"
    )
    parser = group.command("scenarios", "the test cards, magic amounts and holder names, and what they do", scenarios)
    parser.add_argument("--trigger", choices=enum_choices(ScenarioTrigger), help="only scenarios of this kind")

    parser = group.command(
        "outage",
        "put a gateway into an outage (every call fails, or never answers)",
        outage,
        description=(
            "Put a gateway into an outage for your merchant's payments (admins: --merchant or\n"
            "--platform-wide), until `paysim simulator clear` or for --duration.\n\n"
            "  paysim simulator outage stripe --duration 5m\n"
            "  paysim simulator outage simulator --mode timeout"
        ),
    )
    parser.add_argument("gateway", metavar="GATEWAY")
    parser.add_argument("--mode", choices=enum_choices(OutageMode), default="error", help="error (default) or timeout")
    parser.add_argument("--duration", type=duration, metavar="TIME", help="e.g. 90s, 5m, 1h (at most a day)")
    _scope(parser)

    parser = group.command(
        "script",
        "script a gateway's next outcomes, one call each, in order",
        script,
        description=(
            "Script the outcomes of a gateway's next calls: approve, decline, decline:<code>,\n"
            "error or timeout, each taken by exactly one call.\n\n"
            "  paysim simulator script stripe error error approve\n"
            "  paysim simulator script simulator decline:insufficient_funds --append"
        ),
    )
    parser.add_argument("gateway", metavar="GATEWAY")
    parser.add_argument("outcomes", nargs="+", metavar="OUTCOME")
    parser.add_argument(
        "--append", action="store_true", help="after the outcomes still waiting, instead of replacing them"
    )
    _scope(parser)

    parser = group.command("clear", "end outages and drop scripts (of one gateway, or all)", clear)
    parser.add_argument("gateway", nargs="?", default="", metavar="GATEWAY")
    _scope(parser)

    parser = group.command("faults", "the outages and scripts in force", faults)
    _scope(parser)

    parser = group.command("breakers", "the merchant's circuit breakers and their statistics", breakers)
    add_merchant_option(parser)

    parser = group.command("reset-breaker", "close your breaker for a gateway and clear its statistics", reset_breaker)
    parser.add_argument("gateway", metavar="GATEWAY")
    add_merchant_option(parser)
    simulator_chaos.register(group)


def _scope(p: argparse.ArgumentParser) -> None:
    add_merchant_option(p)
    p.add_argument("--platform-wide", action="store_true", help="admins: every merchant's calls to the gateway")


def _seconds(value: Duration) -> str:
    return f"{value.ToTimedelta().total_seconds():g}s"


def _script(f: GatewayFaults) -> str:
    steps = []
    for step in f.script:
        kind = enum_label(ScriptedOutcomeKind, step.kind)
        steps.append(f"{kind}:{step.decline_code}" if step.decline_code else kind)
    return " ".join(steps)


def _outage(f: GatewayFaults) -> str:
    if not f.outage_mode:
        return ""
    until = f"until {when(f.outage_until)}" if f.HasField("outage_until") else "until cleared"
    return f"{enum_label(OutageMode, f.outage_mode)} {until}"


def fault_lines(f: GatewayFaults) -> list[str]:
    return fields(
        [("gateway", f.gateway), ("scope", f.scope), ("outage", _outage(f) or "none"), ("script", _script(f) or "none")]
    )


def scenarios(ctx: Context, args: argparse.Namespace) -> None:
    trigger = (
        parse_enum(ScenarioTrigger, args.trigger) if args.trigger else ScenarioTrigger.SCENARIO_TRIGGER_UNSPECIFIED
    )
    found = list(ctx.client().simulator.scenarios(trigger))
    rows = [[enum_label(ScenarioTrigger, s.trigger), s.value, s.kind, s.decline_code, s.description] for s in found]
    ctx.out.result(
        ListScenariosResponse(scenarios=found),
        lambda: table(["TRIGGER", "VALUE", "KIND", "DECLINE", "WHAT HAPPENS"], rows),
    )


def outage(ctx: Context, args: argparse.Namespace) -> None:
    result = ctx.client().simulator.set_outage(
        args.gateway,
        mode=parse_enum(OutageMode, args.mode),
        duration_seconds=args.duration,
        merchant_id=args.merchant,
        platform_wide=args.platform_wide,
    )
    ctx.out.result(result, lambda: fault_lines(result))


def script(ctx: Context, args: argparse.Namespace) -> None:
    result = ctx.client().simulator.script_outcomes(
        args.gateway, args.outcomes, append=args.append, merchant_id=args.merchant, platform_wide=args.platform_wide
    )
    ctx.out.result(result, lambda: fault_lines(result))


def clear(ctx: Context, args: argparse.Namespace) -> None:
    cleared = ctx.client().simulator.clear_faults(
        args.gateway, merchant_id=args.merchant, platform_wide=args.platform_wide
    )
    ctx.out.result(ClearGatewayFaultsResponse(cleared=cleared), lambda: [f"cleared the faults of {cleared} gateway(s)"])


def faults(ctx: Context, args: argparse.Namespace) -> None:
    found = list(ctx.client().simulator.list_faults(merchant_id=args.merchant, platform_wide=args.platform_wide))
    rows = [[f.gateway, f.scope, _outage(f) or "-", _script(f) or "-"] for f in found]
    ctx.out.result(
        ListGatewayFaultsResponse(faults=found),
        lambda: table(["GATEWAY", "SCOPE", "OUTAGE", "SCRIPT"], rows) if found else ["no faults in force"],
    )


def breakers(ctx: Context, args: argparse.Namespace) -> None:
    reply = ctx.client().simulator.list_breakers(merchant_id=args.merchant)
    s = reply.settings
    rows = [
        [
            b.gateway,
            enum_label(BreakerState, b.state),
            str(b.calls),
            str(b.failures),
            str(b.rejections),
            when(b.reopens_time) if b.state == BreakerState.BREAKER_STATE_OPEN else "",
            b.last_failure_reason,
        ]
        for b in reply.breakers
    ]

    def human() -> list[str]:
        settings = (
            f"opens after {s.failure_threshold} failures within {_seconds(s.window)}, "
            f"half-opens after {_seconds(s.cool_down)}, closes after {s.success_threshold} probe successes"
        )
        body = table(
            ["GATEWAY", "STATE", "CALLS", "FAILURES", "REJECTED", "REOPENS", "LAST FAILURE"], rows, right=[2, 3, 4]
        )
        return [*(body if rows else ["no breakers yet"]), "", settings]

    ctx.out.result(reply, human)


def reset_breaker(ctx: Context, args: argparse.Namespace) -> None:
    breaker = ctx.client().simulator.reset_breaker(args.gateway, merchant_id=args.merchant)
    ctx.out.result(breaker, lambda: [f"{breaker.gateway}: {enum_label(BreakerState, breaker.state)}"])
