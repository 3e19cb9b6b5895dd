"""Pagers over several pages: items in order, pages with their tokens, resuming from a token,
for every paginated listing, blocking and async."""

from __future__ import annotations

import asyncio

from paysim_client import AsyncClient, Client
from paysim_client.types import CaptureMethod, PaymentStatus

from tests.sdk.conftest import VISA
from tests.support.factories import MerchantAccount
from tests.support.harness import ServerHandle


def test_payments_list_walks_every_page_newest_first(client: Client) -> None:
    created = [client.payments.create(amount_minor=100 + i, card=VISA).id for i in range(7)]
    pager = client.payments.list(page_size=3)
    assert [p.id for p in pager] == created[::-1]
    pages = list(pager.pages())
    assert [len(page.items) for page in pages] == [3, 3, 1]
    assert all(page.next_page_token for page in pages[:-1]) and pages[-1].next_page_token == ""
    resumed = client.payments.list(page_size=3, page_token=pages[0].next_page_token)
    assert [p.id for p in resumed] == created[::-1][3:]
    assert [p.id for p in pager] == created[::-1], "a pager can be iterated again"


def test_payments_list_filters_apply_to_every_page(client: Client) -> None:
    manual = [
        client.payments.create(amount_minor=500, card=VISA, capture_method=CaptureMethod.CAPTURE_METHOD_MANUAL).id
        for _ in range(3)
    ]
    client.payments.create(amount_minor=900, card=VISA)
    authorized = client.payments.list(statuses=[PaymentStatus.PAYMENT_STATUS_AUTHORIZED], page_size=2)
    assert sorted(p.id for p in authorized) == sorted(manual)
    assert [p.amount_minor for p in client.payments.list(min_amount_minor=600, page_size=1)] == [900]


def test_async_pagers(server: ServerHandle, merchant: MerchantAccount) -> None:
    async def scenario() -> None:
        async with AsyncClient.connect(server.target, api_key=merchant.api_key) as client:
            created = [(await client.payments.create(amount_minor=1000, card=VISA)).id for _ in range(5)]
            assert [p.id async for p in client.payments.list(page_size=2)] == created[::-1]
            sizes = [len(page.items) async for page in client.payments.list(page_size=2).pages()]
            assert sizes == [2, 2, 1]
            payment = await client.payments.create(
                amount_minor=1000, card=VISA, capture_method=CaptureMethod.CAPTURE_METHOD_MANUAL
            )
            await client.payments.capture(payment.id, amount_minor=600)
            for amount in (100, 200, 300):
                await client.payments.refund(payment.id, amount_minor=amount)
            events = [e async for e in client.payments.events(payment.id, page_size=3)]
            assert [e.payment_version for e in events] == list(range(1, len(events) + 1)) and len(events) == 10
            assert [e.type for e in events][-2:] == ["refund.requested", "refund.succeeded"]

    asyncio.run(scenario())


def test_breaking_out_of_a_blocking_pager_early_is_clean(client: Client) -> None:
    for _ in range(3):
        client.payments.create(amount_minor=1000, card=VISA)
    pages = iter(client.payments.list(page_size=1))
    first = next(pages)
    del pages  # abandoned after one item: its generator is closed on the client's loop
    assert first.amount_minor == 1000
    assert client.payments.get(first.id).id == first.id


def test_customers_api_keys_and_merchants_page_too(client: Client, owner: Client, admin: Client) -> None:
    emails = [f"c{i}@pager.example.test" for i in range(5)]
    for email in emails:
        client.customers.create(email=email, name=email.split("@")[0])
    assert sorted(c.email for c in client.customers.list(page_size=2)) == sorted(emails)
    assert [c.email for c in client.customers.list(email=emails[3], page_size=1)] == [emails[3]]

    names = [f"key {i}" for i in range(4)]
    for name in names:
        owner.merchants.api_keys.create(name)
    listed = [k.name for k in owner.merchants.api_keys.list(page_size=2)]
    assert set(names) <= set(listed) and len(listed) == len(names) + 1  # the fixture's key too

    merchants = list(admin.merchants.list(page_size=2))
    assert len(merchants) >= 2 and len({m.id for m in merchants}) == len(merchants)
    assert client.merchants.get().id in {m.id for m in merchants}
