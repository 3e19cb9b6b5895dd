"""client.webhooks through a real server and a real HTTP receiver: endpoints (secret shown once,
read, pages, update, delete), deliveries that verify with paysim_client.webhooks.verify, their
listing and redelivery, secret rotation, admins, and the errors that have classes of their own.
On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import paysim_client
import pytest
from paysim_client import Client, RetryPolicy, errors, webhooks
from paysim_client._generated import rpcs
from paysim_client._retry import may_retry
from paysim_client.types import WebhookDelivery, WebhookDeliveryState, WebhookEndpoint
from paysim_client.webhooks import SignatureVerificationError

from tests.sdk.conftest import VISA, wait_for
from tests.support.factories import MerchantAccount, register_merchant
from tests.support.harness import ServerHandle
from tests.support.webhook_receiver import Received, WebhookReceiver

DELIVERED = WebhookDeliveryState.WEBHOOK_DELIVERY_STATE_DELIVERED
PENDING = WebhookDeliveryState.WEBHOOK_DELIVERY_STATE_PENDING


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.stop()


def captured(client: Client, amount: int = 1999) -> str:
    return client.payments.create(amount_minor=amount, currency_code="USD", card=VISA).id


def delivered(client: Client, endpoint_id: str, count: int = 1) -> list[WebhookDelivery]:
    """The endpoint's deliveries once ``count`` of them are DELIVERED (newest first)."""
    found: list[WebhookDelivery] = []

    def done() -> bool:
        nonlocal found
        found = list(client.webhooks.list_deliveries(webhook_endpoint_id=endpoint_id, state=DELIVERED))
        return len(found) >= count

    wait_for(done, what=f"{count} delivered")
    return found


def test_an_endpoint_is_created_with_its_secret_once_then_read_paged_updated_and_deleted(
    client: Client, merchant: MerchantAccount, receiver: WebhookReceiver
) -> None:
    made = client.webhooks.create(receiver.url, event_types=["payment.captured"], description="orders")
    endpoint = made.webhook_endpoint
    assert made.secret.startswith("whsec_")
    assert endpoint.id.startswith("whe_") and endpoint.merchant_id == merchant.merchant_id
    assert endpoint.url == receiver.url and list(endpoint.event_types) == ["payment.captured"]
    assert endpoint.enabled and endpoint.description == "orders" and not endpoint.disabled_reason
    assert client.webhooks.get(endpoint.id) == endpoint
    assert made.secret not in str(client.webhooks.get(endpoint.id))

    second = client.webhooks.create(f"{receiver.url}/all", event_types=["*"], enabled=False).webhook_endpoint
    assert not second.enabled and list(second.event_types) == ["*"]
    pages = list(client.webhooks.list(page_size=1).pages())
    assert [[e.id for e in page.items] for page in pages] == [[second.id], [endpoint.id]]
    assert [e.id for e in client.webhooks.list()] == [second.id, endpoint.id]

    changed = client.webhooks.update(
        endpoint.id, description="orders and refunds", event_types=["refund.succeeded", "payment.captured"]
    )
    assert changed.url == endpoint.url and changed.enabled
    assert changed.description == "orders and refunds"
    assert set(changed.event_types) == {"payment.captured", "refund.succeeded"}
    paused = client.webhooks.update(endpoint.id, enabled=False)
    assert not paused.enabled and set(paused.event_types) == set(changed.event_types)
    assert paused.description == changed.description

    deleted = client.webhooks.delete(second.id)
    assert deleted.id == second.id
    with pytest.raises(errors.NotFound) as gone:
        client.webhooks.get(second.id)
    assert gone.value.reason == "WEBHOOK_ENDPOINT_NOT_FOUND"
    assert [e.id for e in client.webhooks.list()] == [endpoint.id]


def test_deliveries_verify_with_the_sdk_helper_and_are_listed_and_redelivered(
    client: Client, receiver: WebhookReceiver
) -> None:
    made = client.webhooks.create(receiver.url, event_types=["payment.captured"])
    endpoint_id = made.webhook_endpoint.id
    payment_id = captured(client, 2500)
    [got] = receiver.wait_count(1)
    # What a receiver does: the raw body and the Paysim-Signature header, checked with the secret.
    assert webhooks.verify(got.body, got.headers["paysim-signature"], made.secret) > 0
    body = got.json
    assert body["type"] == "payment.captured" and body["id"] == got.event_id
    assert body["data"]["object"]["id"] == payment_id
    with pytest.raises(SignatureVerificationError) as forged:
        webhooks.verify(got.body.replace(b"2500", b"9999"), got.signature, made.secret)
    assert forged.value.reason == "SIGNATURE_MISMATCH"

    [delivery] = delivered(client, endpoint_id)
    assert delivery.event_id == got.event_id and delivery.payment_id == payment_id
    assert delivery.event_type == "payment.captured" and delivery.sequence > 0
    assert [(a.number, a.http_status) for a in delivery.attempts] == [(1, 200)]
    assert [d.id for d in client.webhooks.list_deliveries(event_id=got.event_id)] == [delivery.id]
    assert list(client.webhooks.list_deliveries(webhook_endpoint_id=endpoint_id, state=PENDING)) == []

    again = client.webhooks.redeliver(delivery.id)
    assert again.id != delivery.id and again.redelivery_of == delivery.id and again.event_id == delivery.event_id
    resent = receiver.wait_count(2)[1]
    assert resent.event_id == got.event_id and resent.headers["paysim-delivery-id"] == again.id
    webhooks.verify(resent.body, resent.signature, made.secret)
    assert {d.id for d in delivered(client, endpoint_id, 2)} == {delivery.id, again.id}


def test_a_rotated_secret_signs_beside_the_old_one_until_the_overlap_ends(
    client: Client, receiver: WebhookReceiver
) -> None:
    made = client.webhooks.create(receiver.url, event_types=["payment.captured"])
    endpoint_id = made.webhook_endpoint.id
    rotated = client.webhooks.rotate_secret(endpoint_id, overlap_seconds=3600)
    assert rotated.secret.startswith("whsec_") and rotated.secret != made.secret
    assert rotated.webhook_endpoint.HasField("previous_secret_expire_time")
    captured(client)
    [during] = receiver.wait_count(1)
    for secret in (made.secret, rotated.secret):  # a receiver on either secret accepts it
        webhooks.verify(during.body, during.signature, secret)

    retired = client.webhooks.rotate_secret(endpoint_id, overlap_seconds=0)
    assert not retired.webhook_endpoint.HasField("previous_secret_expire_time")
    captured(client)
    after = receiver.wait_count(2)[1]
    webhooks.verify(after.body, after.signature, retired.secret)
    for old in (made.secret, rotated.secret):
        with pytest.raises(SignatureVerificationError):
            webhooks.verify(after.body, after.signature, old)


def test_an_admin_manages_a_merchants_endpoints(
    admin: Client, client: Client, merchant: MerchantAccount, receiver: WebhookReceiver
) -> None:
    made = admin.webhooks.create(receiver.url, event_types=["*"], merchant_id=merchant.merchant_id)
    assert made.webhook_endpoint.merchant_id == merchant.merchant_id
    assert client.webhooks.get(made.webhook_endpoint.id).url == receiver.url
    assert [e.id for e in admin.webhooks.list(merchant_id=merchant.merchant_id)] == [made.webhook_endpoint.id]
    captured(client)
    receiver.wait_count(3)  # payment.created, payment.authorized, payment.captured
    wait_for(
        lambda: len(list(admin.webhooks.list_deliveries(merchant_id=merchant.merchant_id, state=DELIVERED))) == 3,
        what="three deliveries delivered",
    )


def test_the_errors_a_webhook_call_raises(server: ServerHandle, client: Client, receiver: WebhookReceiver) -> None:
    with pytest.raises(errors.InvalidArgument) as private:
        client.webhooks.create("http://10.1.2.3/hooks", event_types=["*"])
    assert [(v.field, v.reason) for v in private.value.field_violations] == [("url", "TARGET_NOT_ALLOWED")]
    with pytest.raises(errors.InvalidArgument) as unknown:
        client.webhooks.create(receiver.url, event_types=["payment.teleported"])
    assert [v.field for v in unknown.value.field_violations] == ["event_types"]
    with pytest.raises(TypeError):
        client.webhooks.create(receiver.url, event_types="payment.captured")

    # Redelivery while the endpoint is disabled.
    made = client.webhooks.create(receiver.url, event_types=["payment.captured"])
    endpoint_id = made.webhook_endpoint.id
    captured(client)
    [delivery] = delivered(client, endpoint_id)
    client.webhooks.update(endpoint_id, enabled=False)
    with pytest.raises(errors.WebhookEndpointDisabled) as disabled:
        client.webhooks.redeliver(delivery.id)
    assert disabled.value.metadata["webhook_endpoint_id"] == endpoint_id
    with pytest.raises(errors.InvalidArgument) as overlap:
        client.webhooks.rotate_secret(endpoint_id, overlap_seconds=8 * 24 * 3600)
    assert [v.field for v in overlap.value.field_violations] == ["overlap_seconds"]

    # Another merchant's endpoint and delivery look like missing ones.
    other = register_merchant(server.stubs())
    with Client.connect(server.target, api_key=other.api_key) as theirs:
        for call in (
            lambda: theirs.webhooks.get(endpoint_id),
            lambda: theirs.webhooks.update(endpoint_id, description="mine now"),
            lambda: theirs.webhooks.delete(endpoint_id),
            lambda: theirs.webhooks.rotate_secret(endpoint_id),
        ):
            with pytest.raises(errors.NotFound) as hidden:
                call()
            assert hidden.value.reason == "WEBHOOK_ENDPOINT_NOT_FOUND"
        with pytest.raises(errors.NotFound) as hidden_delivery:
            theirs.webhooks.redeliver(delivery.id)
        assert hidden_delivery.value.reason == "WEBHOOK_DELIVERY_NOT_FOUND"
    assert client.webhooks.get(endpoint_id).description == ""

    # At most 16 endpoints per merchant (one exists).
    for n in range(15):
        client.webhooks.create(f"{receiver.url}/{n}", event_types=["*"])
    with pytest.raises(errors.WebhookEndpointLimit):
        client.webhooks.create(f"{receiver.url}/one-too-many", event_types=["*"])


def test_creations_rotations_and_redeliveries_are_never_repeated_after_unavailable() -> None:
    lost = errors.Unavailable("the connection broke")
    policy = RetryPolicy()
    once = {rpcs.CREATE_WEBHOOK_ENDPOINT, rpcs.ROTATE_WEBHOOK_SECRET, rpcs.REDELIVER_WEBHOOK}
    table = [rpc for rpc in rpcs.ALL if rpc.path.startswith("/paysim.v1.WebhookService/")]
    assert len(table) == 8
    for rpc in table:
        assert may_retry(lost, rpc.safety, policy) is (rpc not in once), rpc.path


def test_the_async_client_manages_endpoints_too(server: ServerHandle, merchant: MerchantAccount) -> None:
    async def scenario() -> list[WebhookEndpoint]:
        async with paysim_client.connect(server.target, api_key=merchant.api_key) as client:
            made = await client.webhooks.create("http://127.0.0.1:9/hooks", event_types=["refund.succeeded"])
            listed = [e async for e in client.webhooks.list()]
            await client.webhooks.delete(made.webhook_endpoint.id)
            assert [d async for d in client.webhooks.list_deliveries()] == []
            return listed

    assert [list(e.event_types) for e in asyncio.run(scenario())] == [["refund.succeeded"]]


def test_received_bodies_are_json_with_the_event_id_header(client: Client, receiver: WebhookReceiver) -> None:
    made = client.webhooks.create(receiver.url, event_types=["payment.created"])
    payment_id = captured(client)
    [got] = receiver.wait_count(1)
    assert isinstance(got, Received) and got.headers["content-type"].startswith("application/json")
    assert json.loads(got.body)["data"]["object"]["id"] == payment_id
    assert got.event_id.startswith("evt_") and got.headers["paysim-attempt"] == "1"
    assert webhooks.verify(got.body, got.signature, made.secret)
