"""``paysim webhooks …`` against a real receiver: the secret shown once verifies the deliveries,
deliveries are listed with their answers, a redelivery repeats the event, rotation, updates."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from paysim_client import webhooks

from tests.cli.conftest import Cli
from tests.sdk.conftest import wait_for
from tests.support.factories import MerchantAccount
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.stop()


def test_an_endpoint_from_creation_to_redelivery(
    cli: Cli, logged_in: MerchantAccount, receiver: WebhookReceiver
) -> None:
    human = cli.ok(
        "webhooks", "create", "--url", receiver.url, "--event", "payment.captured", "--description", "shop"
    ).stdout
    secret = next(line.split()[1] for line in human.splitlines() if line.startswith("secret"))
    endpoint_id = next(line.split()[1] for line in human.splitlines() if line.startswith("endpoint"))
    assert secret.startswith("whsec_") and "shown only now" in human

    paid = cli.json("payments", "create", "--amount", "12.34", "--card", "4242424242424242")
    (first,) = receiver.wait_for(lambda got: len(got) == 1)
    webhooks.verify(first.body, first.signature, secret)
    assert first.json["type"] == "payment.captured" and first.json["data"]["object"]["id"] == paid["id"]

    def delivered() -> list[dict[str, str]]:
        listed = cli.json("webhooks", "deliveries", "--endpoint", endpoint_id, "--state", "delivered")
        return list(listed["webhook_deliveries"])

    wait_for(lambda: len(delivered()) == 1, what="the delivery recorded")
    (delivery,) = delivered()
    assert delivery["event_id"] == first.event_id and delivery["payment_id"] == paid["id"]
    table = cli.ok("webhooks", "deliveries", "--endpoint", endpoint_id).stdout.splitlines()
    assert table[0].split()[:3] == ["DELIVERY", "STATE", "EVENT"]
    assert table[1].split()[:3] == [delivery["id"], "delivered", "payment.captured"] and "200 in " in table[1]

    again = cli.json("webhooks", "redeliver", delivery["id"])
    assert again["redelivery_of"] == delivery["id"] and again["event_id"] == delivery["event_id"]
    second = receiver.wait_for(lambda got: len(got) == 2)[1]
    assert second.event_id == first.event_id

    rotated = cli.json("webhooks", "rotate-secret", endpoint_id, "--overlap", "0")
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
    updated = cli.json("webhooks", "update", endpoint_id, "--disable", "--event", "refund.succeeded")
    assert updated["enabled"] is False and updated["event_types"] == ["refund.succeeded"]
    assert "enabled      no" in cli.ok("webhooks", "get", endpoint_id).stdout
    listed = cli.json("webhooks", "list")
    assert [e["id"] for e in listed["webhook_endpoints"]] == [endpoint_id]
    assert cli.ok("webhooks", "delete", endpoint_id).stdout.startswith(f"deleted {endpoint_id}")
    assert cli.ok("webhooks", "list").stdout.strip() == "no webhook endpoints"


def test_a_refused_url_names_the_field(cli: Cli, logged_in: MerchantAccount) -> None:
    refused = cli("webhooks", "create", "--url", "ftp://example.test/hooks")
    assert refused.code == 1
    assert refused.stderr.startswith("error: invalid request (reason INVALID_ARGUMENT, request id ")
    assert refused.stderr.splitlines()[1].startswith("  url: ")
