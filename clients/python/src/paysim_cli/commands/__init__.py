"""The client commands, one module per group; each has ``register(registrar)``."""

from __future__ import annotations

from types import ModuleType

from paysim_cli.commands import (
    api_keys,
    clocks,
    customers,
    demo,
    disputes,
    gateways,
    merchants,
    payments,
    session,
    simulator,
    three_ds,
    watch,
    webhooks,
)

ALL: tuple[ModuleType, ...] = (
    session,
    merchants,
    api_keys,
    gateways,
    customers,
    payments,
    disputes,
    watch,
    three_ds,
    webhooks,
    simulator,
    clocks,
    demo,
)
