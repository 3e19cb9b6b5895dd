"""Python client for paysim, the payment-platform simulator.

    import paysim_client
    from paysim_client.types import CardInput

    async with paysim_client.connect("localhost:50051", api_key="sk_test_…") as client:
        payment = await client.payments.create(
            amount_minor=1999, currency_code="USD",
            card=CardInput(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123"),
        )

:class:`Client` is the blocking twin (``with paysim_client.Client.connect(...) as client``).
Errors are :mod:`paysim_client.errors` exceptions; the returned objects are the contract's
messages (:mod:`paysim_client.types`); the generated stubs live in :mod:`paysim_proto.v1`.
``client.payments.watch()`` streams payment events and resumes by itself after a restart
(:class:`AsyncWatcher`, :class:`Watcher`).
"""

from paysim_client import errors, types, webhooks
from paysim_client._transport import new_idempotency_key
from paysim_client._version import __version__
from paysim_client.client import AsyncClient, Client, Connecting, connect
from paysim_client.config import ReconnectPolicy, RetryPolicy, SimulationOverride, TLSConfig
from paysim_client.errors import PaysimError, RpcError
from paysim_client.pagers import AsyncPager, Page, Pager
from paysim_client.token_store import TokenStore
from paysim_client.watch import AsyncWatcher, Watcher

__all__ = [
    "AsyncClient",
    "AsyncPager",
    "AsyncWatcher",
    "Client",
    "Connecting",
    "Page",
    "Pager",
    "PaysimError",
    "ReconnectPolicy",
    "RetryPolicy",
    "RpcError",
    "SimulationOverride",
    "TLSConfig",
    "TokenStore",
    "Watcher",
    "__version__",
    "connect",
    "errors",
    "new_idempotency_key",
    "types",
    "webhooks",
]
