"""Watch payments as they happen with the asyncio client: open a watcher, create a few payments,
print each event as it streams in, stop after N of them, then catch up from the saved cursor on
what happened while nobody was watching.

    python clients/python/examples/watch_payments.py [N]   # PAYSIM_TARGET, PAYSIM_API_KEY: see _setup.py

The watcher reopens its stream by itself, from its cursor, when the server restarts or the
connection breaks, so nothing is lost or repeated: run it with a large N and restart the server.
"""

from __future__ import annotations

import asyncio
import sys

import paysim_client
from _setup import credentials, target
from paysim_client import SimulationOverride
from paysim_client.types import CaptureMethod, CardInput, PaymentEvent

VISA = CardInput(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123")
DEFAULT_EVENTS = 8


def describe(seq: int | None, event: PaymentEvent) -> str:
    # The event's data is the message of its type (``payment_created``, ``payment_captured``…):
    # amounts are int minor units, never a card number.
    suffix = ""
    if event.HasField("payment_created"):
        created = event.payment_created
        suffix = f" amount={created.amount_minor} {created.currency_code} card=…{created.card.last4}"
    elif event.HasField("payment_captured"):
        suffix = f" amount={event.payment_captured.amount_minor} fee={event.payment_captured.fee_amount_minor}"
    return f"  seq {seq}: {event.type:<25} {event.payment_id} v{event.payment_version}{suffix}"


async def make_payments(client: paysim_client.AsyncClient) -> None:
    # Captured at once: payment.created, payment.authorized, payment.captured.
    await client.payments.create(amount_minor=1999, currency_code="USD", card=VISA, description="a book")
    # Declined: a result, not an error, and an event like any other.
    await client.payments.create(
        amount_minor=500, card=VISA, simulate=SimulationOverride(outcome="decline:insufficient_funds")
    )
    # Authorized now, captured later.
    held = await client.payments.create(
        amount_minor=5000, card=VISA, capture_method=CaptureMethod.CAPTURE_METHOD_MANUAL
    )
    await client.payments.capture(held.id)


async def main(wanted: int) -> int:
    async with paysim_client.connect(target(), **credentials()) as client:
        # Entering the block opens the stream: every payment made from here on is seen.
        async with client.payments.watch() as watcher:
            print(f"watching from seq {watcher.cursor}; stopping after {wanted} events")
            making = asyncio.create_task(make_payments(client))
            seen = 0
            async for event in watcher:
                print(describe(watcher.cursor, event))
                seen += 1
                if seen == wanted:
                    break
            await making
            saved = watcher.cursor  # persist this to pick up exactly here later
        print(f"stopped at seq {saved}")

        # While nobody watches, a refund happens …
        payment = await client.payments.create(amount_minor=2500, card=VISA, description="returned later")
        await client.payments.refund(payment.id, amount_minor=2500, reason="returned")

        # … and a watcher from the saved cursor replays everything missed, then goes live.
        async with client.payments.watch(after_seq=saved) as catch_up:
            print(f"catching up from seq {saved}:")
            kinds = []
            async for event in catch_up:
                print(describe(catch_up.cursor, event))
                kinds.append(event.type)
                if event.type == "refund.succeeded" and event.payment_id == payment.id:
                    break
        assert kinds[-2:] == ["refund.requested", "refund.succeeded"], kinds
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_EVENTS)))
