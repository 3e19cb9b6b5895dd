"""``paysim simulator chaos set|show|clear`` and ``paysim simulator reset``: seeded chaos profiles
and putting a merchant's whole simulation back to the start."""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation

from paysim_client.types import ChaosProfile
from paysim_proto.v1.simulator_pb2 import ClearChaosProfileResponse, ListChaosProfilesResponse

from paysim_cli.commands._common import add_merchant_option
from paysim_cli.context import Context
from paysim_cli.output import fields, table
from paysim_cli.registrar import Registrar


def rate(text: str) -> int:
    """``3%``, ``0.25%`` or ``3`` (percent) as basis points, exactly: 3 % is 300."""
    try:
        percent = Decimal(text.strip().removesuffix("%"))
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage such as 3% or 0.25%") from None
    bps = percent * 100
    if bps != bps.to_integral_value() or not 0 <= bps <= 10_000:
        raise argparse.ArgumentTypeError(f"{text!r} must be from 0% to 100% in steps of 0.01%")
    return int(bps)


def register(simulator: Registrar) -> None:
    group = simulator.group("chaos", "seeded chaos profiles: reproducible error, timeout and decline rates and latency")
    parser = group.command(
        "set",
        "give a gateway a seeded chaos profile (replaces the one in force; draws start again)",
        set_profile,
        description=(
            "Give a gateway a seeded chaos profile for your merchant's payments: each call draws an\n"
            "error, a timeout, a decline or the gateway's own answer, and a log-normal latency. The same\n"
            "seed and the same calls in the same order give the same outcomes and latencies.\n\n"
            "  paysim simulator chaos set stripe --seed 42 --error-rate 3% --timeout-rate 1%\n"
            "  paysim simulator chaos set simulator --seed 7 --p50 40 --p99 400"
        ),
    )
    parser.add_argument("gateway", metavar="GATEWAY")
    parser.add_argument("--seed", type=int, default=0, help="the seed of the draws (default 0)")
    parser.add_argument("--error-rate", type=rate, default=0, metavar="PERCENT", help="calls that fail, e.g. 3%%")
    parser.add_argument("--timeout-rate", type=rate, default=0, metavar="PERCENT", help="calls that time out")
    parser.add_argument("--decline-rate", type=rate, default=0, metavar="PERCENT", help="calls declined")
    parser.add_argument("--decline-code", default="", metavar="CODE", help="of a chaos decline (generic_decline)")
    parser.add_argument("--p50", type=int, default=0, metavar="MS", help="median latency in milliseconds")
    parser.add_argument("--p99", type=int, default=0, metavar="MS", help="99th-percentile latency (default: --p50)")
    add_merchant_option(parser)

    parser = group.command("show", "the chaos profiles (of one gateway, or all) with their draws", show)
    parser.add_argument("gateway", nargs="?", default="", metavar="GATEWAY")
    add_merchant_option(parser)

    parser = group.command("clear", "remove the chaos profile of one gateway, or all", clear)
    parser.add_argument("gateway", nargs="?", default="", metavar="GATEWAY")
    add_merchant_option(parser)

    parser = simulator.command(
        "reset",
        "put the merchant's simulation back to the start (faults, scripts, chaos, breakers, free clocks)",
        reset,
    )
    add_merchant_option(parser)


def _percent(bps: int) -> str:
    return f"{Decimal(bps) / 100:f}%"


def profile_lines(p: ChaosProfile) -> list[str]:
    return fields(
        [
            ("gateway", p.gateway),
            ("seed", str(p.seed)),
            ("errors", _percent(p.error_rate_bps)),
            ("timeouts", _percent(p.timeout_rate_bps)),
            ("declines", f"{_percent(p.decline_rate_bps)} ({p.decline_code})"),
            ("latency", f"p50 {p.latency_p50_ms} ms, p99 {p.latency_p99_ms} ms"),
            ("draws", str(p.draws)),
        ]
    )


def set_profile(ctx: Context, args: argparse.Namespace) -> None:
    profile = ctx.client().simulator.set_chaos_profile(
        args.gateway,
        seed=args.seed,
        error_rate_bps=args.error_rate,
        timeout_rate_bps=args.timeout_rate,
        decline_rate_bps=args.decline_rate,
        decline_code=args.decline_code,
        latency_p50_ms=args.p50,
        latency_p99_ms=args.p99,
        merchant_id=args.merchant,
    )
    ctx.out.result(profile, lambda: profile_lines(profile))


def show(ctx: Context, args: argparse.Namespace) -> None:
    simulator = ctx.client().simulator
    if args.gateway:
        profile = simulator.get_chaos_profile(args.gateway, merchant_id=args.merchant)
        ctx.out.result(profile, lambda: profile_lines(profile))
        return
    found = list(simulator.list_chaos_profiles(merchant_id=args.merchant))
    rows = [
        [
            p.gateway,
            str(p.seed),
            _percent(p.error_rate_bps),
            _percent(p.timeout_rate_bps),
            _percent(p.decline_rate_bps),
            f"{p.latency_p50_ms}/{p.latency_p99_ms}",
            str(p.draws),
        ]
        for p in found
    ]
    headers = ["GATEWAY", "SEED", "ERRORS", "TIMEOUTS", "DECLINES", "P50/P99 MS", "DRAWS"]
    ctx.out.result(
        ListChaosProfilesResponse(profiles=found),
        lambda: table(headers, rows, right=[2, 3, 4, 6]) if found else ["no chaos profiles"],
    )


def clear(ctx: Context, args: argparse.Namespace) -> None:
    cleared = ctx.client().simulator.clear_chaos_profile(args.gateway, merchant_id=args.merchant)
    ctx.out.result(ClearChaosProfileResponse(cleared=cleared), lambda: [f"removed {cleared} chaos profile(s)"])


def reset(ctx: Context, args: argparse.Namespace) -> None:
    report = ctx.client().simulator.reset(merchant_id=args.merchant)
    kept = ", ".join(report.kept_test_clock_ids) or "none"
    ctx.out.result(
        report,
        lambda: fields(
            [
                ("faults cleared", str(report.faults_cleared)),
                ("chaos profiles removed", str(report.chaos_profiles_cleared)),
                ("breakers reset", str(report.breakers_reset)),
                ("test clocks deleted", str(report.test_clocks_deleted)),
                ("test clocks kept", kept),
            ]
        ),
    )
