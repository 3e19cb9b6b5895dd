"""Every gateway paysim can route to, by name."""

from __future__ import annotations

from collections.abc import Mapping

from paysim.gateways.base import Gateway
from paysim.gateways.paypal_like import PayPalLikeGateway
from paysim.gateways.razorpay_like import RazorpayLikeGateway
from paysim.gateways.simulator import SimulatorGateway
from paysim.gateways.stripe_like import StripeLikeGateway

FLAVOURED: dict[str, type[StripeLikeGateway | PayPalLikeGateway | RazorpayLikeGateway]] = {
    "stripe": StripeLikeGateway,
    "paypal": PayPalLikeGateway,
    "razorpay": RazorpayLikeGateway,
}
GATEWAY_NAMES = ("stripe", "paypal", "razorpay", "simulator")


def build_gateways(
    *, latency_ms: Mapping[str, int] | None = None, simulator: SimulatorGateway | None = None
) -> dict[str, Gateway]:
    """One instance of each gateway: ``stripe``, ``paypal``, ``razorpay``, ``simulator``.

    ``latency_ms`` sets a flavoured gateway's latency by name (zero for any not named); the simulator has
    no latency setting. ``simulator`` passes in an existing simulator (e.g. the one the app already
    uses) instead of a new one."""
    latency = dict(latency_ms or {})
    unknown = sorted(set(latency) - set(FLAVOURED))
    if unknown:
        raise ValueError(f"no latency setting for gateway(s) {unknown}; configurable: {sorted(FLAVOURED)}")
    gateways: dict[str, Gateway] = {name: cls(latency_ms=latency.get(name, 0)) for name, cls in FLAVOURED.items()}
    gateways["simulator"] = simulator if simulator is not None else SimulatorGateway()
    return gateways
